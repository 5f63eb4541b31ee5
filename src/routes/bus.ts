import { createRouter } from "./router";

export const busRoutes = createRouter();
