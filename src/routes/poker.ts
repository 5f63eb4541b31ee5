import { createRouter } from "./router";

export const pokerRoutes = createRouter();
