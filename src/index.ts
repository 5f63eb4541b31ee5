import { createApp } from "./app";
import { runPeriodicJobs } from "./cron";
import { publishToBus } from "./features/bus";
import { chatSettings } from "./features/threads/settings";
import { deliverWebhookBatch } from "./features/webhooks/deliver";
import { onEndpointDisabled } from "./features/webhooks/endpoint-disabled";
import { ROOM_KINDS } from "./rooms";

export { BusChannel } from "./features/bus/bus-channel";
export { PokerRoom } from "./features/poker/poker-room";
export { PersonRoom } from "./features/state/person-room";
export { ThreadRoom } from "./features/threads/thread-room";

// A user hears on the bus that the breaker disabled their hook (`user:<id>`, in the namespace of
// the thread nudges). The bus imports webhooks, so webhooks cannot publish there itself.
onEndpointDisabled((env, hook) =>
  publishToBus(env, chatSettings(env).busDb, hook.owner, {
    type: "webhook_endpoint_disabled",
    hook_id: hook.hookId,
    event_type: hook.eventType,
    target_url: hook.targetUrl,
    reason: hook.reason,
  }),
);

const app = createApp(ROOM_KINDS);

export default {
  fetch: app.fetch,
  queue: (batch, env) => deliverWebhookBatch(batch, env),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(runPeriodicJobs(env)),
} satisfies ExportedHandler<Env>;
