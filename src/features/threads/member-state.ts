import type { Caller } from "../../platform/auth/caller";
import type { StoredAttachment } from "./attachments";
import { chatForbidden, chatInvalid, FieldCodes } from "./errors";
import { hasBit } from "./permissions";
import type { MemberRow, MemberUpdate, MessageRow, ThreadRow } from "./queries";

/**
 * The member state machine: the states, which changes are allowed, who may post, and the hooks
 * through which automated conversations (scripted / assisted modes) plug in.
 *
 * ```
 *   open ⇄ closed            (closed: may not post, unless `reopen`, which reopens the thread)
 *   open → scripted | scripted_fe_controlled | assisted   (needs a schema; one scripted per thread)
 *   scripted* → open | closed (break_state, or on_finish at the end of the schema)
 * ```
 */
export {
  FREQUENCY_UNITS,
  MEMBER_STATES,
  type MemberState,
  ON_FINISH,
  type OnFinish,
} from "../../protocol/threads-rest";

/** States driven by a schema's questions; at most one member per thread is in one of them. */
export const SCRIPTED_STATES: ReadonlySet<string> = new Set(["scripted", "scripted_fe_controlled"]);
/** States that work with a schema (assisted members send its questions themselves). */
export const SCHEMA_STATES: ReadonlySet<string> = new Set([
  "scripted",
  "scripted_fe_controlled",
  "assisted",
]);

export function isScripted(state: string): boolean {
  return SCRIPTED_STATES.has(state);
}

/** A change of one member (REST `PATCH /users/:user_id`, break_state, on_finish, ...). */
export type MemberChange = MemberUpdate;

/**
 * Checks the state-machine part of a change against the thread's other members; throws the
 * chat codes. `next` is the member as it would be stored.
 */
export function checkTransition(
  next: Pick<MemberRow, "userId" | "state" | "schemaId">,
  change: MemberChange,
  members: readonly MemberRow[],
): void {
  const codes = new FieldCodes();
  if (change.state !== undefined && isScripted(next.state)) {
    const other = members.find((m) => m.userId !== next.userId && isScripted(m.state));
    if (other) codes.add("state", "NOT_ALLOWED");
  }
  if (change.schemaId && !SCHEMA_STATES.has(next.state)) codes.add("state", "WRONG_STATE");
  if (change.state !== undefined && SCHEMA_STATES.has(next.state) && !next.schemaId) {
    codes.add("schema_id", "REQUIRED");
  }
  codes.throwIfAny();
}

/**
 * Whether a member may post now. A `closed` member is refused with `THREAD_IS_CLOSED` unless it
 * holds `reopen`: then its message reopens the thread ("reopen").
 */
export function postingGate(member: MemberRow | null): "post" | "reopen" {
  if (member?.state !== "closed") return "post";
  if (hasBit(member.permissions, "reopen")) return "reopen";
  throw chatForbidden("text", "THREAD_IS_CLOSED", "This thread is closed for you");
}

/** The members a `break_state` moves to `open`: one named member, or (`true`) every scripted one. */
export function breakStateTargets(
  members: readonly MemberRow[],
  value: true | string,
): MemberRow[] {
  if (value === true) return members.filter((m) => isScripted(m.state));
  const target = members.find((m) => m.userId === value);
  if (!target) throw chatInvalid({ break_state: ["WRONG_VALUE"] }, "No such member");
  return [target];
}

// ---- extension points ------------------------------------------------------------------

/** A system message (sender null), e.g. a scripted question. `text` is stored as given. */
export interface SystemMessageInput {
  type: string;
  text: string;
  meta?: Record<string, unknown> | null;
  relatedQuestionId?: string | null;
}

/** What hooks may do to a thread; every call runs inside the thread room, one at a time. */
export interface ThreadOps {
  readonly env: Env;
  readonly threadId: string;
  thread(): Promise<ThreadRow>;
  members(): Promise<MemberRow[]>;
  /** Stores a system message with unread rows and last-message pointers, then fans it out. */
  postSystemMessage(input: SystemMessageInput): Promise<MessageRow>;
  /**
   * Stores a change of a member (no permission checks: the caller already decided) and runs the
   * change hooks again. Throws 404 for a user that is not a member.
   */
  changeMember(userId: string, change: MemberChange): Promise<MemberRow>;
}

export interface MemberChangeContext {
  ops: ThreadOps;
  /** Who asked; admin or a client. Internal changes (break_state, reopen) carry the poster. */
  actor: Caller;
  /** The member before the change; null when it is being added. */
  before: MemberRow | null;
  /** The member as it will be stored; hooks may amend `change` (e.g. pick the first question). */
  next: MemberRow;
  change: MemberChange;
  members: readonly MemberRow[];
}

export interface MemberChangedContext {
  ops: ThreadOps;
  actor: Caller;
  before: MemberRow | null;
  after: MemberRow;
}

/** A member's message before it is stored; hooks validate it and may amend it. */
export interface PostDraft {
  type: string;
  /** HTML-escaped text; hooks that replace it must escape what they put in. */
  text: string;
  meta: Record<string, unknown> | null;
  attachments: StoredAttachment[];
  /** The raw `answers` / `question` of the request (validated by the schema hooks). */
  answers: string[] | null;
  question: string | null;
  relatedQuestionId: string | null;
  /** False: nothing is stored (e.g. a `control` question's confirmation); the route answers 204. */
  store: boolean;
}

export interface PostContext {
  ops: ThreadOps;
  actor: Caller;
  /** The posting member; null for the admin token. */
  member: MemberRow | null;
  draft: PostDraft;
}

export interface PostedContext extends PostContext {
  /** The stored message, or null when a hook set `draft.store = false`. */
  message: MessageRow | null;
}

/**
 * Hooks of the automated conversations (registered once at module load). All are optional and
 * run in registration order; throwing an ApiError (e.g. `chatInvalid({answers: ["TOO_MANY"]})`)
 * refuses the operation before anything is stored.
 */
export interface MemberStateHooks {
  /** Before a member is added or changed (state, schema, question, on_finish, ...). */
  beforeMemberChange?(ctx: MemberChangeContext): void | Promise<void>;
  /** After the change was stored (e.g. post the current question as a system message). */
  afterMemberChange?(ctx: MemberChangedContext): void | Promise<void>;
  /** Before a member's message is stored (e.g. validate it as an answer to the question). */
  beforePost?(ctx: PostContext): void | Promise<void>;
  /** After the message was stored and sent (e.g. move to the next question). */
  afterPost?(ctx: PostedContext): void | Promise<void>;
}

const registered: MemberStateHooks[] = [];

/** Adds hooks; answers a function that removes them again. */
export function registerMemberStateHooks(hooks: MemberStateHooks): () => void {
  registered.push(hooks);
  return () => {
    const at = registered.indexOf(hooks);
    if (at >= 0) registered.splice(at, 1);
  };
}

export async function runMemberStateHook<K extends keyof MemberStateHooks>(
  name: K,
  ctx: Parameters<NonNullable<MemberStateHooks[K]>>[0],
): Promise<void> {
  for (const hooks of [...registered]) {
    const hook = hooks[name] as ((c: typeof ctx) => void | Promise<void>) | undefined;
    if (hook) await hook.call(hooks, ctx);
  }
}
