/**
 * One person's room (`/ws/persons/<key>`) shared by any number of flow and step subscriptions:
 * the class form of `subscribeStateChanges`, for callers that watch both entities on one socket.
 */
import { type KindProtocol, RoomClient, type RoomClientOptions } from "./room-client";
import {
  type PersonRoomClient,
  type StateChange,
  type StateEntity,
  type StateInstance,
  type StateSubscription,
  subscribeStateChanges,
} from "./state";

export interface StateClientOptions extends Omit<RoomClientOptions, "url"> {
  /** `https://host` (the Worker's origin). */
  baseUrl: string;
  personKey: string;
}

export interface StateSubscribeOptions {
  /** Called with the person's flows or steps after every (re)subscription. */
  onCurrent?: (current: StateInstance[]) => void;
  /** Called when a resubscription after a reconnect is refused or gets no reply. */
  onError?: (error: Error) => void;
}

export class StateClient {
  readonly personKey: string;
  /** The person room's socket, typed by its protocol (`on("state_change", …)` works too). */
  readonly room: PersonRoomClient;

  constructor({ baseUrl, personKey, ...options }: StateClientOptions) {
    this.personKey = personKey;
    this.room = new RoomClient<KindProtocol<"persons">>({
      ...options,
      url: `${baseUrl.replace(/\/$/, "")}/ws/persons/${encodeURIComponent(personKey)}`,
    });
  }

  /** Calls `handler` with every change of the person's flows or steps, across reconnects. */
  subscribe(
    entity: StateEntity,
    handler: (change: StateChange) => void,
    options: StateSubscribeOptions = {},
  ): StateSubscription {
    return subscribeStateChanges(this.personKey, entity, handler, {
      ...options,
      client: this.room,
    });
  }

  /** Closes the socket; the server drops its subscriptions with it. */
  close(): void {
    this.room.close();
  }
}
