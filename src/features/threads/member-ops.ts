import { conflict, notFound } from "../../platform/errors";
import { bitsOf, forbidden, may, memberViewer, type ThreadAccess } from "./access";
import type { MemberChangeInput, MemberInput } from "./inputs";
import { changeFromInput, checkGrants, newMemberRow, previewRow } from "./member-input";
import { checkTransition, runMemberStateHook } from "./member-state";
import { permissionBits } from "./permissions";
import { deleteMember, insertMember, lastVisibleMessageId, type MemberRow } from "./queries";
import type { ThreadFanOut, ThreadService } from "./service";
import { userView } from "./views";

/**
 * Inserts a prepared member: transition check, hooks around the insert, its last visible
 * message (earlier messages stay read: nobody gets unread rows for the past).
 */
export async function insertNewMember(
  svc: ThreadService,
  fanout: ThreadFanOut,
  input: MemberInput,
  defaultBits: number,
  members: MemberRow[],
): Promise<MemberRow> {
  const row = newMemberRow(svc.settings, svc.threadId, input, defaultBits);
  const next = previewRow(row);
  checkTransition(next, row, members);
  const ctx = { ops: svc, actor: svc.caller, before: null, next, change: { ...row }, members };
  await runMemberStateHook("beforeMemberChange", ctx);
  const values = { ...row, ...ctx.change, threadId: svc.threadId, userId: row.userId };
  values.lastMessageId = await lastVisibleMessageId(
    svc.db,
    svc.threadId,
    svc.settings.listFilter(memberViewer(previewRow(values))),
  );
  const inserted = await insertMember(svc.db, values);
  if (!inserted) {
    throw conflict("This user is already a member of the thread", {
      user_id: ["NOT_ALLOWED"],
    });
  }
  fanout.memberChanged(inserted);
  await runMemberStateHook("afterMemberChange", {
    ops: svc,
    actor: svc.caller,
    before: null,
    after: inserted,
  });
  members.push(inserted);
  return inserted;
}

/** `POST /api/threads/:id/users` (`add_user`). */
export async function addMember(svc: ThreadService, fanout: ThreadFanOut, input: MemberInput) {
  const access = await svc.authorize("addUser");
  checkGrants({
    input,
    grantorBits: bitsOf(access),
    currentBits: 0,
    controlOthers: may(access, "control_others"),
    allowAdmin: access.caller.kind === "admin",
  });
  const members = await svc.members();
  const inserted = await insertNewMember(
    svc,
    fanout,
    input,
    permissionBits(svc.settings.permissionsDefault),
    members,
  );
  return userView(inserted, may(access, "control_others"));
}

/**
 * `PATCH /api/threads/:id/users/:user_id`. A member may always change its own notifications;
 * anything else about anyone needs `control_others`, and nobody grants a permission it lacks.
 */
export async function changeMemberByCaller(
  svc: ThreadService,
  userId: string,
  input: MemberChangeInput,
) {
  const access = await svc.authorize("changeUser");
  const members = await svc.members();
  const target = members.find((m) => m.userId === userId);
  if (!target) throw notFound("Member");
  const ownNotifications =
    access.member?.userId === userId && Object.keys(input).every((k) => k === "notifications");
  if (!ownNotifications && !may(access, "control_others")) throw forbidden("control_others");
  checkGrants({
    input,
    grantorBits: bitsOf(access),
    currentBits: target.permissions,
    controlOthers: may(access, "control_others"),
    allowAdmin: access.caller.kind === "admin",
  });
  const after = await svc.applyMemberChange(target, changeFromInput(input), members);
  return userView(after, may(access, "control_others"));
}

/** `DELETE /api/threads/:id/users/:user_id` (`remove_user`, or a member leaving). */
export async function removeMember(svc: ThreadService, fanout: ThreadFanOut, userId: string) {
  const access: ThreadAccess = await svc.authorize("removeUser");
  const leaving = access.member?.userId === userId;
  if (!leaving && !may(access, "remove_user")) throw forbidden("remove_user");
  const members = await svc.members();
  if (!members.some((m) => m.userId === userId)) throw notFound("Member");
  await deleteMember(svc.db, svc.threadId, userId);
  fanout.memberRemoved(userId);
}
