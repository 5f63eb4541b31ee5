import { createRouter } from "./router";

export const personRoutes = createRouter();
