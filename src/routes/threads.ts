import { createRouter } from "./router";

export const threadRoutes = createRouter();
