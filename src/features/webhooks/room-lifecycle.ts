import { getDb } from "../../platform/db";
import { dispatchEvents, prepareEvent } from "./outbox";
import { recordEvents } from "./queries";

/** A room lifecycle event as the room stored it (its uuid fixed when it was stored). */
export interface RoomLifecycleEvent {
  uuid: string;
  type: "room.occupied" | "room.vacated";
  data: { kind: string; id: string };
}

/**
 * Records rooms' `room.occupied`/`room.vacated` events with their deliveries (idempotent by
 * uuid: a room draining again after a crash adds nothing) and dispatches them. Throws when D1
 * failed, so the room keeps them for its alarm; the composition root hands this to the rooms.
 */
export async function recordRoomLifecycle(env: Env, events: RoomLifecycleEvent[]): Promise<void> {
  const prepared = await Promise.all(events.map((e) => prepareEvent(env, e.type, e.data, e.uuid)));
  await recordEvents(getDb(env.DB), prepared);
  await dispatchEvents(
    env,
    prepared.map((e) => e.uuid),
  );
}
