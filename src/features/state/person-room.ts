import { z } from "zod";
import { hasPermission, PERMISSIONS, userIdOf } from "../../platform/auth/permissions";
import { getDb } from "../../platform/db";
import { badRequest, forbidden, notFound } from "../../platform/errors";
import { SubscriptionData } from "../../protocol";
import { BaseRoom } from "../../realtime/base-room";
import type { CommandContext } from "../../realtime/commands";
import type { Member } from "../../realtime/member";
import type { RoomKind } from "../../realtime/room-kind";
import { asResult, type RpcResult } from "../../realtime/rpc-result";
import { dispatchEvents } from "../webhooks";
import { type Changed, setFlowState, setStepState } from "./changes";
import {
  type FlowRow,
  findPerson,
  listFlows,
  listPersonSteps,
  type StepWithPerson,
} from "./queries";
import type { Instance, StateChange } from "./states";
import { type Subscriptions, stateChangeFrame, subscribe, unsubscribe } from "./subscriptions";

interface PersonSocketState extends Record<string, unknown> {
  subscriptions: Subscriptions;
}

/**
 * One room per person key (`/ws/persons/:key`): the person's sockets and, in each socket's
 * attachment, which entities it watches with which `request_id`. The room is the only writer of
 * its person's flow and step states: the REST routes call `changeFlowState`/`changeStepState`,
 * which store the change with its `state.changed` event in one D1 transaction, then tell the
 * subscribed sockets and dispatch the event.
 *
 * `state_change` frames are sent per socket, outside the ordered stream: each socket's frame
 * carries its own subscription's `request_id`, and a resumed client needs no replay because
 * subscribing answers with the current state.
 */
export class PersonRoom extends BaseRoom<PersonSocketState> {
  /** Listeners need not speak: a quiet socket is still subscribed. */
  protected override readonly dropsSilentSockets = false;
  /** For `room.occupied`/`room.vacated` and the roster route (contract §10): who is watching. */
  protected override readonly tracksPresence = true;
  protected readonly commands = {
    subscribe_state_change: this.command({
      // The data is checked in the handler (with the protocol's `SubscriptionData`) so that
      // errors name `entity` / `person_key` as sent.
      schema: z.unknown(),
      handle: async (ctx) => {
        const data = this.subscription(ctx);
        const db = getDb(this.env.DB);
        if (!(await findPerson(db, data.person_key))) throw notFound("Person");
        const subs = subscribe(ctx.member.state.subscriptions, data.entity, ctx.requestId);
        this.saveSubscriptions(ctx, subs);
        // Read after the subscription is saved: a change written meanwhile is either in
        // `current` or arrives as an event (changes queue behind this command), never lost.
        return { current: await this.current(data) };
      },
    }),
    unsubscribe_state_change: this.command({
      schema: z.unknown(),
      handle: async (ctx) => {
        const data = this.subscription(ctx);
        this.saveSubscriptions(ctx, unsubscribe(ctx.member.state.subscriptions, data.entity));
      },
    }),
  };

  /** The person themself stays; an observer whose refreshed token lost `state.observe` goes. */
  protected override async onCredentialRefreshed(
    ws: WebSocket,
    member: Member<PersonSocketState>,
  ): Promise<void> {
    if (member.userId === this.roomId || this.can(member, PERMISSIONS.stateObserve)) return;
    await this.closeSocket(ws, "accessRemoved", "'state.observe' is no longer granted");
  }

  protected override initialState(): PersonSocketState {
    return { subscriptions: {} };
  }

  /** `resync` (a `?since=` this room cannot serve: it keeps no stream) carries both lists. */
  protected override async snapshot() {
    const db = getDb(this.env.DB);
    const [flows, steps] = await Promise.all([
      listFlows(db, this.roomId),
      listPersonSteps(db, this.roomId),
    ]);
    return { flows: flows.map(toInstance), steps: steps.map(toInstance) };
  }

  // ---- RPC from the REST routes: this room is the only writer of its person's states ------

  /** Sets a flow's state (`setFlowState`), then tells the subscribers and sends the event. */
  async changeFlowState(personKey: string, id: string, state: string): Promise<RpcResult<FlowRow>> {
    return this.rpc(personKey, () => setFlowState(this.env, personKey, id, state));
  }

  /** Sets a step's state (`setStepState`), then tells the subscribers and sends the event. */
  async changeStepState(
    personKey: string,
    id: string,
    state: string,
  ): Promise<RpcResult<StepWithPerson>> {
    return this.rpc(personKey, () => setStepState(this.env, personKey, id, state));
  }

  private rpc<R>(personKey: string, run: () => Promise<Changed<R>>): Promise<RpcResult<R>> {
    this.bind(personKey);
    return asResult(
      () =>
        this.exclusive(async () => {
          const { record, change } = await run();
          if (change) {
            this.tell(change.data);
            // Never throws: what it misses, the cron scan sends (the event is stored with the change).
            await dispatchEvents(this.env, [change.event.uuid]);
          }
          return record;
        }),
      (err) => this.reportError(err, "rpc"),
    );
  }

  /** Sends a stored change to every socket subscribed to its entity. */
  private tell(change: StateChange): void {
    for (const ws of this.sockets()) {
      const frame = stateChangeFrame(this.memberOf(ws).state.subscriptions, change);
      if (frame) this.send(ws, frame);
    }
  }

  /** The subscription's data, checked; a `person_key` other than this room's is a 404. */
  private subscription(ctx: CommandContext<unknown, PersonSocketState>): SubscriptionData {
    const parsed = SubscriptionData.safeParse(ctx.data);
    if (!parsed.success) throw badRequest("Invalid subscription", fieldErrors(parsed.error));
    if (parsed.data.person_key !== this.roomId) throw notFound("Person");
    return parsed.data;
  }

  private saveSubscriptions(
    ctx: CommandContext<unknown, PersonSocketState>,
    subscriptions: Subscriptions,
  ): void {
    this.saveMember(ctx.ws, { ...ctx.member, state: { ...ctx.member.state, subscriptions } });
  }

  /** The person's flows or steps as they are now (`data.current`). */
  private async current({ entity, person_key }: SubscriptionData): Promise<Instance[]> {
    const db = getDb(this.env.DB);
    const rows =
      entity === "flow" ? await listFlows(db, person_key) : await listPersonSteps(db, person_key);
    return rows.map(toInstance);
  }
}

const toInstance = ({ id, identifier, state }: Instance): Instance => ({ id, identifier, state });

/** Field → problems, keyed by the names inside `data` (the contract names `entity` itself). */
function fieldErrors(error: z.ZodError): Record<string, string[]> {
  // A path can be a client's key (`constructor`): a Map, then its entries.
  const out = new Map<string, string[]>();
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "data";
    out.set(key, [...(out.get(key) ?? []), issue.message]);
  }
  return Object.fromEntries(out);
}

/** The typed stub of a person's room, for RPC. */
export function personRoom(env: Env, key: string): DurableObjectStub<PersonRoom> {
  return env.PERSON_ROOM.get(env.PERSON_ROOM.idFromName(key));
}

/** The person themself (token user id = key), `state.observe` holders and admin may connect. */
export const personKind: RoomKind = {
  stub: (env, key) => personRoom(env, key),
  tracksPresence: true,
  admit: async (env, key, caller) => {
    if (!(await findPerson(getDb(env.DB), key))) throw notFound("Person");
    if (userIdOf(caller) === key || hasPermission(caller, PERMISSIONS.stateObserve)) return;
    throw forbidden(
      `Only the person '${key}' or a holder of 'state.observe' may watch this person`,
    );
  },
};
