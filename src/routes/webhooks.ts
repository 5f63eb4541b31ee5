import { createRouter } from "./router";

export const webhookRoutes = createRouter();
