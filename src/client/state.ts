/**
 * Flow and step state-change subscriptions on top of `RoomClient`, typed by the person room's
 * protocol (`/ws/persons/:key`).
 *
 * Subscriptions belong to one socket, and `state_change` events are not part of the room's
 * ordered stream, so a resumed connection replays none of them. The helper therefore subscribes
 * again after every (re)connection and hands the fresh `current` list to `onCurrent`: a client
 * that applies `current` and then each change never misses one, even across reconnects.
 */
import type { Entity, Instance, StateChange } from "../protocol/state";
import { type KindProtocol, RoomClient, type RoomClientOptions } from "./room-client";

export type { StateChange };
export type StateEntity = Entity;
/** A flow or step as it is now (`data.current` items). */
export type StateInstance = Instance;
/** A client of a person's room (`/ws/persons/:key`). */
export type PersonRoomClient = RoomClient<KindProtocol<"persons">>;

export type StateSubscriptionOptions = (
  | { client: PersonRoomClient }
  | (Omit<RoomClientOptions, "url"> & { baseUrl: string })
) & {
  /** Called with the person's flows or steps after every (re)subscription. */
  onCurrent?: (current: StateInstance[]) => void;
  /** Called when a (re)subscription is refused or gets no reply. */
  onError?: (error: Error) => void;
};

export interface StateSubscription {
  /** The client in use (created here unless one was passed). */
  readonly client: PersonRoomClient;
  /** Resolves with `current` of the first subscription; rejects when it is refused. */
  readonly ready: Promise<StateInstance[]>;
  /** Unsubscribes; closes the client too when it was created here. */
  close(): Promise<void>;
}

/**
 * Calls `handler` with every state change of `personKey`'s flows or steps.
 * Pass `{ baseUrl, token }` to open `/ws/persons/<key>`, or `{ client }` to share a connection.
 */
export function subscribeStateChanges(
  personKey: string,
  entity: StateEntity,
  handler: (change: StateChange) => void,
  options: StateSubscriptionOptions,
): StateSubscription {
  const owned = !("client" in options);
  const client: PersonRoomClient =
    "client" in options
      ? options.client
      : new RoomClient<KindProtocol<"persons">>({
          ...options,
          url: `${options.baseUrl.replace(/\/$/, "")}/ws/persons/${encodeURIComponent(personKey)}`,
        });
  const data = { person_key: personKey, entity };
  let closed = false;
  let first: { resolve: (c: StateInstance[]) => void; reject: (e: Error) => void } | null = null;
  const ready = new Promise<StateInstance[]>((resolve, reject) => {
    first = { resolve, reject };
  });
  // A refusal of the first subscription is reported through `ready`; keep it from going unhandled.
  ready.catch(() => undefined);

  const subscribe = async () => {
    if (closed) return;
    let error: Error;
    try {
      const reply = await client.request("subscribe_state_change", data);
      if (reply.status === 200 && reply.data) {
        options.onCurrent?.(reply.data.current);
        first?.resolve(reply.data.current);
        first = null;
        return;
      }
      error = new Error(
        `subscribe_state_change refused (${reply.status}): ${reply.errors.join("; ")}`,
      );
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    if (first) {
      first.reject(error);
      first = null;
    } else {
      options.onError?.(error);
    }
  };

  const offChange = client.on("state_change", (change) => {
    if (!closed && change.entity === entity) handler(change);
  });
  const offOpen = client.on("open", () => void subscribe());
  if (client.state === "open") void subscribe();

  return {
    client,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      offChange();
      offOpen();
      try {
        if (client.state === "open") await client.request("unsubscribe_state_change", data);
      } finally {
        if (owned) client.close();
      }
    },
  };
}
