import { createApp } from "./app";
import { runPeriodicJobs } from "./cron";
import { deliverWebhookBatch } from "./features/webhooks/deliver";
import { ROOM_KINDS } from "./rooms";

export { BusChannel } from "./features/bus/bus-channel";
export { PokerRoom } from "./features/poker/poker-room";
export { PersonRoom } from "./features/state/person-room";
export { ThreadRoom } from "./features/threads/thread-room";

const app = createApp(ROOM_KINDS);

export default {
  fetch: app.fetch,
  queue: (batch, env) => deliverWebhookBatch(batch, env),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(runPeriodicJobs(env)),
} satisfies ExportedHandler<Env>;
