import { notFound } from "../../platform/errors";
import { escapeHtml } from "../../platform/html";
import type { IdempotentRun } from "../../platform/idempotency/run";
import { dispatchEvents } from "../webhooks";
import { accessViewer, forbidden, may, memberViewer, type ThreadAccess } from "./access";
import { prepareAttachment, validateAttachment } from "./attachments";
import { chatForbidden, FieldCodes } from "./errors";
import type { EditMessageInput, PostMessageInput } from "./inputs";
import {
  breakStateTargets,
  type PostDraft,
  postingGate,
  runMemberStateHook,
  SCHEMA_STATES,
} from "./member-state";
import { messageCreatedUuid } from "./message-created";
import {
  attachmentsOf,
  findMessage,
  type LastMessageMove,
  type MemberRow,
  type MessageRow,
  softDeleteMessage,
  updateMessage,
} from "./queries";
import { callerThreadView, loadBases } from "./read";
import type { MessageDraft, ThreadService } from "./service";
import { messageFor } from "./views";

/**
 * `POST /api/threads/:id/messages`. Order: permission → an earlier run of its idempotency key →
 * closed gate → field validation → member-state hooks (scripted answers) → break_state / reopen
 * → store → fan out → hooks. Answers the poster's view of the message with its own thread view,
 * or null when a hook decided to store nothing. The message is recorded on the request's key in
 * its own D1 batch: a run of the key cut off before it answered is answered with that message.
 */
export async function postMessage(
  svc: ThreadService,
  input: PostMessageInput,
  keyed: IdempotentRun | null,
) {
  const access = await svc.authorize("createMessage");
  const { member, caller } = access;
  if (keyed?.createdRef) {
    return posterView(svc, access, await earlierPost(svc, Number(keyed.createdRef)));
  }
  const gate = postingGate(member);
  const { settings } = svc;

  const codes = new FieldCodes();
  if (!settings.messageTypes.includes(input.type)) codes.add("type", "WRONG_VALUE");
  input.attachments.forEach((a, i) => {
    codes.merge(validateAttachment(settings.attachmentTypes, a, i));
  });
  const schemaState = member !== null && SCHEMA_STATES.has(member.state);
  if (input.answers !== undefined && !schemaState) codes.add("answers", "WRONG_STATE");
  if (input.question !== undefined && !schemaState) codes.add("question", "WRONG_STATE");
  codes.throwIfAny();
  if (
    input.break_state !== undefined &&
    input.break_state !== false &&
    !may(access, "break_state")
  ) {
    throw chatForbidden("break_state", "NO_PERMISSIONS", "break_state needs that permission");
  }

  const draft: PostDraft = {
    type: input.type,
    text: escapeHtml(input.text),
    meta: input.meta ?? null,
    attachments: input.attachments.map((a) => prepareAttachment(settings.attachmentTypes, a)),
    answers: input.answers ?? null,
    question: input.question ?? null,
    relatedQuestionId: null,
    store: true,
  };
  await runMemberStateHook("beforePost", { ops: svc, actor: caller, member, draft });

  const members = await svc.members();
  const stored: MessageDraft = {
    sender: senderOf(access),
    type: draft.type,
    text: draft.text,
    meta: draft.meta,
    relatedQuestionId: draft.relatedQuestionId,
    answers: draft.answers,
    attachments: draft.attachments,
  };
  const breaking = input.break_state === false ? undefined : input.break_state;
  // The member changes below are stored before the message: what the stream would refuse is
  // refused before them too (storeMessage checks again against the members after them).
  if (draft.store && (breaking !== undefined || gate === "reopen")) {
    await svc.checkDraftPublishable(stored, members);
  }
  if (breaking !== undefined) {
    for (const target of breakStateTargets(members, breaking)) {
      await svc.applyMemberChange(target, { state: "open" }, members);
    }
  }
  if (gate === "reopen") {
    for (const m of members.filter((m) => m.state === "closed")) {
      await svc.applyMemberChange(m, { state: "open" }, members);
    }
  }

  const message = draft.store ? await svc.storeMessage(stored, keyed?.id ?? null) : null;
  const fresh = member ? (await svc.members()).find((m) => m.userId === member.userId) : null;
  await runMemberStateHook("afterPost", {
    ops: svc,
    actor: caller,
    member: fresh ?? member,
    draft,
    message,
  });
  if (!message) return null;
  return posterView(svc, { ...access, member: fresh ?? null }, message);
}

/**
 * The message an earlier run of the key stored. Its webhook, recorded with it, is dispatched
 * again in case that run was cut off before that (repeating is harmless).
 */
async function earlierPost(svc: ThreadService, messageId: number): Promise<MessageRow> {
  const message = await findMessage(svc.db, svc.threadId, messageId);
  if (!message) throw notFound("Message");
  await dispatchEvents(svc.env, [messageCreatedUuid(message.id)]);
  return message;
}

function senderOf(access: ThreadAccess): { id: string; name: string } | null {
  if (access.caller.kind !== "user") return null;
  return { id: access.caller.user.id, name: access.member?.name ?? access.caller.user.name };
}

/** The poster's (or editor's) view: the message plus its own thread view (`user_thread`). */
async function posterView(svc: ThreadService, access: ThreadAccess, message: MessageRow) {
  const bases = await loadBases(svc.db, svc.settings, [message.id]);
  const base = bases.get(message.id)!;
  const userId = access.caller.kind === "user" ? access.caller.user.id : null;
  const thread = await svc.thread();
  return {
    ...messageFor(base, userId, true),
    user_thread: await callerThreadView(svc.db, svc.settings, { ...access, thread }),
  };
}

/** A message of this thread that only its sender (or the admin token) may change. */
async function ownMessage(svc: ThreadService, access: ThreadAccess, id: number) {
  const message = await findMessage(svc.db, svc.threadId, id);
  if (
    !message ||
    !svc.settings.messageFilter(
      { type: message.type, senderId: message.senderId, meta: message.meta ?? null },
      accessViewer(access),
    )
  ) {
    throw notFound("Message");
  }
  const own = access.caller.kind === "user" && message.senderId === access.caller.user.id;
  if (!own && access.caller.kind !== "admin") throw forbidden("only the sender may change it");
  return message;
}

/** `PATCH /api/threads/:id/messages/:mid`: the sender with `messages_edit`. */
export async function editMessage(svc: ThreadService, id: number, input: EditMessageInput) {
  const access = await svc.authorize("editMessage");
  const current = await ownMessage(svc, access, id);
  const change: { text?: string; meta?: Record<string, unknown> | null } = {};
  if (input.text !== undefined) change.text = escapeHtml(input.text);
  if (input.meta !== undefined) change.meta = input.meta;
  const [attachments, members] = await Promise.all([attachmentsOf(svc.db, [id]), svc.members()]);
  await svc.checkPublishable({ ...current, ...change }, attachments, members);
  const { message, unpublished } = await updateMessage(
    svc.db,
    svc.threadId,
    id,
    change,
    svc.publishedChangeId(),
  );
  await svc.announceChanges(unpublished, { messageId: id, unreadChanged: [] });
  return posterView(svc, access, message);
}

/**
 * `DELETE /api/threads/:id/messages/:mid`: the sender with `messages_delete`. The message is
 * kept as deleted; unread rows go, and every `last_message` that pointed at it moves back to
 * the newest message its owner may see, all in one D1 transaction with the change's record.
 */
export async function deleteMessage(svc: ThreadService, id: number) {
  const access = await svc.authorize("deleteMessage");
  await ownMessage(svc, access, id);
  const pointing = (await svc.members()).filter((m) => m.lastMessageId === id);
  const { unreadBy, unpublished } = await softDeleteMessage(
    svc.db,
    svc.threadId,
    id,
    lastMessageMoves(svc, pointing),
    svc.publishedChangeId(),
  );
  await svc.announceChanges(unpublished, { messageId: id, unreadChanged: unreadBy });
}

/** The members grouped by the message types hidden from them: one pointer update per group. */
function lastMessageMoves(svc: ThreadService, members: readonly MemberRow[]): LastMessageMove[] {
  const moves = new Map<string, LastMessageMove>();
  for (const m of members) {
    const hiddenTypes = [...svc.settings.listFilter(memberViewer(m))].sort();
    const group = JSON.stringify(hiddenTypes);
    const move = moves.get(group) ?? { userIds: [], hiddenTypes };
    move.userIds.push(m.userId);
    moves.set(group, move);
  }
  return [...moves.values()];
}
