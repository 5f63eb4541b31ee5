import type { BatchItem } from "drizzle-orm/batch";
import { type Db, getDb } from "../../platform/db";
import { badRequest, fieldErrors } from "../../platform/errors";
import { logger } from "../../platform/log";
import * as time from "../../platform/time";
import { ADMIN_OWNER } from "./access";
import { recordGrouped, type WaitUntil } from "./event-writer";
import { orderingKeyOf } from "./ordering";
import {
  type NewEvent,
  recordEventStatements,
  recordEvents,
  unattemptedDeliveryIds,
} from "./queries";
import { type EventMessage, enqueueDeliveries, fitsInMessage } from "./queue";
import { findEventType } from "./registry";

/**
 * The transactional outbox: the only way to emit a webhook event. A write records its events in
 * the same transaction as the change itself, so a stored change always has its events and a
 * refused one has none; a dispatch then sends them, and a failed dispatch never fails the write.
 *
 * In D1 the outbox is the webhook tables themselves: the event row and one pending delivery per
 * active hook go into the caller's own batch, conditioned on the uuid being new (a retry of the
 * same logical event inserts nothing). Dispatching is only enqueueing those deliveries; one the
 * dispatch missed (a crash, the Queue down) is due and open, so the cron scan sends it.
 *
 *     const event = await prepareEvent(env, "state.changed", data); // 400 here, before the write
 *     await db.batch([...change, ...outboxStatements(db, [event])]);
 *     await dispatchEvents(env, [event.uuid]); // never throws
 *
 * A write with nothing but an event (an app's emit) calls `acceptEmit`, which queues the event
 * for the consumer to record (`intake.ts`) or records it first (`recordAndDispatch`). A Durable
 * Object whose change lives in its own SQLite appends to a `RoomOutbox` in the same
 * `transactionSync` and drains it into D1 right after the commit, and from its alarm when that
 * failed.
 */

/** dj-whisperer's event uuids are hex without dashes. */
export function newEventUuid(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** An event checked against its type's schema and serialized: ready to go into a write. */
export interface PreparedEvent extends NewEvent {
  uuid: string;
  data: string;
}

/**
 * Checks `data` against the type's schema and serializes it. Call it before the write: unknown
 * types and data that does not match are a 400 (`ApiError`), so a bad event refuses the change.
 */
export async function prepareEvent(
  env: Env,
  eventType: string,
  data: unknown,
  uuid: string = newEventUuid(),
  orderingKey?: string,
): Promise<PreparedEvent> {
  const type = await findEventType(env, eventType);
  if (!type) {
    throw badRequest(`Unknown webhook event type '${eventType}'`, {
      event_type: ["Unknown event type"],
    });
  }
  const parsed = type.data.safeParse(data);
  if (!parsed.success) {
    const details = Object.fromEntries(
      Object.entries(fieldErrors(parsed.error)).map(([key, problems]) => [
        key === "body" ? "data" : `data.${key}`,
        problems,
      ]),
    );
    throw badRequest(`Invalid data for event type '${eventType}'`, details);
  }
  // An app type's own JSON Schema, when it registered one (details keyed `data.<path>` too).
  const problems = type.check?.(parsed.data);
  if (problems) throw badRequest(`Invalid data for event type '${eventType}'`, problems);
  return {
    uuid,
    eventType,
    data: JSON.stringify(parsed.data),
    // Built-in types carry many users' data: only the admin's hooks get them.
    onlyOwner: type.builtin ? ADMIN_OWNER : undefined,
    orderingKey: orderingKeyOf(eventType, parsed.data, orderingKey),
  };
}

/**
 * The statements that record `events` and their deliveries, for the caller's own `db.batch`
 * with the change they announce. An event may carry SQL for its uuid and parts of its data
 * when they come from a row the same batch inserts (a new message's id).
 */
export function outboxStatements(db: Db, events: NewEvent[]): BatchItem<"sqlite">[] {
  return recordEventStatements(db, events);
}

/**
 * Sends the recorded events' deliveries that were never attempted to the Queue. Never throws:
 * the write is stored, and whatever this misses the cron scan sends. Repeating it is harmless
 * (an attempt is claimed in D1 before it is made), so a client's retry may dispatch again.
 */
export async function dispatchEvents(env: Env, eventUuids: string[]): Promise<void> {
  try {
    await enqueueDeliveries(env, await unattemptedDeliveryIds(getDb(env.DB), eventUuids));
  } catch (err) {
    logger.error(
      `Webhook events ${eventUuids.join(", ")}: dispatch failed, the cron scan will send them`,
      { event: "webhook.dispatch_failed", count: eventUuids.length, error: err },
    );
  }
}

/**
 * For a write that is nothing but an event and is answered only once it is in D1 (an emit that
 * `acceptEmit` does not queue): records it with its deliveries, in one D1 transaction with
 * concurrent callers', then dispatches. Resolves once it is in D1.
 */
export function recordAndDispatch(env: Env, event: PreparedEvent, ctx?: WaitUntil): Promise<void> {
  return recordGrouped(env, event, ctx);
}

/**
 * An app's emit: an event without an ordering key is queued as it is, and the consumer records
 * it (`intake.ts`), so the emit waits for one durable write, the Queue's, instead of D1's and
 * then the Queue's. An event with a key is recorded first, because its key's order is the
 * order of the emits' answers, which a Queue does not keep; so is one too big for a message,
 * and one the Queue refused.
 */
export async function acceptEmit(env: Env, event: PreparedEvent, ctx?: WaitUntil): Promise<void> {
  if (event.orderingKey == null && fitsInMessage(event.data)) {
    const message: EventMessage = {
      event: {
        uuid: event.uuid,
        event_type: event.eventType,
        data: event.data,
        only_owner: event.onlyOwner ?? null,
      },
    };
    try {
      await env.WEBHOOK_QUEUE.send(message);
      return;
    } catch (err) {
      logger.warn(`Webhook event ${event.uuid}: queueing failed, recording it in D1 first`, {
        event: "webhook.queue_failed",
        error: err,
      });
    }
  }
  await recordAndDispatch(env, event, ctx);
}

/** How long a room waits before draining its outbox again after a failure (or a crash). */
export const ROOM_OUTBOX_RETRY_MS = 10_000;

interface OutboxRow extends Record<string, SqlStorageValue> {
  uuid: string;
  event_type: string;
  data: string;
  only_owner: string | null;
}

/**
 * The outbox of a Durable Object that stores its changes in its own SQLite (the bus): events are
 * appended in the transaction of the change, then drained into D1 (`recordEvents`, idempotent by
 * uuid) and dispatched. The room sets its alarm `ROOM_OUTBOX_RETRY_MS` ahead before the write, so
 * what a crash or a failed drain leaves is drained by the alarm.
 */
export class RoomOutbox {
  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      uuid TEXT PRIMARY KEY,
      event_type TEXT NOT NULL,
      data TEXT NOT NULL,
      only_owner TEXT,
      at INTEGER NOT NULL
    )`);
  }

  /** Call inside the change's `transactionSync`. A uuid already waiting adds nothing. */
  append(event: PreparedEvent, at = time.now()): void {
    this.storage.sql.exec(
      "INSERT OR IGNORE INTO outbox (uuid, event_type, data, only_owner, at) VALUES (?, ?, ?, ?, ?)",
      event.uuid,
      event.eventType,
      event.data,
      event.onlyOwner ?? null,
      at,
    );
  }

  /** When the oldest waiting event was appended; null when none waits. */
  oldestAt(): number | null {
    return this.storage.sql.exec<{ at: number | null }>("SELECT MIN(at) AS at FROM outbox").one()
      .at;
  }

  /**
   * Records the waiting events in D1, forgets them, then dispatches them. False when D1 failed:
   * they wait for the next drain. A crash after D1 and before forgetting records nothing twice.
   */
  async drain(env: Env): Promise<boolean> {
    const rows = this.storage.sql
      .exec<OutboxRow>("SELECT uuid, event_type, data, only_owner FROM outbox ORDER BY at, uuid")
      .toArray();
    if (!rows.length) return true;
    const events: PreparedEvent[] = rows.map((row) => ({
      uuid: row.uuid,
      eventType: row.event_type,
      data: row.data,
      onlyOwner: row.only_owner ?? undefined,
      // A room's events are keyed by the room, which their data names.
      orderingKey: orderingKeyOf(row.event_type, JSON.parse(row.data)),
    }));
    try {
      await recordEvents(getDb(env.DB), events);
    } catch (err) {
      logger.error(`Outbox: recording ${rows.length} events failed, the alarm retries`, {
        event: "outbox.record_failed",
        count: rows.length,
        error: err,
      });
      return false;
    }
    const uuids = events.map((event) => event.uuid);
    this.storage.sql.exec(
      "DELETE FROM outbox WHERE uuid IN (SELECT value FROM json_each(?))",
      JSON.stringify(uuids),
    );
    await dispatchEvents(env, uuids);
    return true;
  }
}
