import { createApp } from "./app";
import { runPeriodicJobs } from "./cron";
import { ROOM_KINDS } from "./rooms/registry";
import { deliverWebhookBatch } from "./webhooks/deliver";

export { BusChannel } from "./rooms/bus-channel";
export { PersonRoom } from "./rooms/person-room";
export { PokerRoom } from "./rooms/poker-room";
export { ThreadRoom } from "./rooms/thread-room";

const app = createApp(ROOM_KINDS);

export default {
  fetch: app.fetch,
  queue: (batch, env) => deliverWebhookBatch(batch, env),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(runPeriodicJobs(env)),
} satisfies ExportedHandler<Env>;
