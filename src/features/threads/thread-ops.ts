import { badRequest } from "../../platform/errors";
import { forbidden, may } from "./access";
import { chatInvalid } from "./errors";
import type { CreateThreadInput, EditThreadInput, MemberInput } from "./inputs";
import { checkGrants } from "./member-input";
import { insertNewMember } from "./member-ops";
import { notificationBits } from "./notifications";
import { ALL_PERMISSIONS, permissionBits } from "./permissions";
import {
  deleteThreadCascade,
  insertThreadWithMembers,
  type MemberRow,
  updateThreadTitle,
} from "./queries";
import { threadDetail } from "./read";
import type { ThreadFanOut, ThreadService } from "./service";

/**
 * `POST /api/threads`. A client becomes a member with the creator's permissions and may grant
 * the others only what it holds itself; the admin token creates threads it is not a member of.
 */
export async function createThread(
  svc: ThreadService,
  fanout: ThreadFanOut,
  input: CreateThreadInput,
) {
  const { caller, settings } = svc;
  if (caller.kind === "anonymous") throw badRequest("A caller is required");
  if (
    !settings.routePermissions.createThread({ caller, member: null }) &&
    caller.kind !== "admin"
  ) {
    throw forbidden("createThread");
  }
  const type = input.type ?? settings.defaultThreadType;
  if (!settings.threadTypes.includes(type)) throw chatInvalid({ type: ["WRONG_VALUE"] });
  const seen = new Set<string>();
  for (const [i, m] of input.members.entries()) {
    if (seen.has(m.user_id)) throw chatInvalid({ [`members.${i}.user_id`]: ["WRONG_VALUE"] });
    seen.add(m.user_id);
  }

  const creatorBits = permissionBits(settings.creatorPermissionsDefault);
  const grantorBits = caller.kind === "admin" ? ALL_PERMISSIONS : creatorBits;
  const entries: { input: MemberInput; defaultBits: number }[] = input.members.map((m) => ({
    input: m,
    defaultBits:
      caller.kind === "user" && m.user_id === caller.user.id
        ? creatorBits
        : permissionBits(settings.permissionsDefault),
  }));
  if (caller.kind === "user" && !seen.has(caller.user.id)) {
    entries.unshift({
      input: { user_id: caller.user.id, name: caller.user.name },
      defaultBits: creatorBits,
    });
  }
  for (const [i, entry] of input.members.entries()) {
    checkGrants({
      input: entry,
      grantorBits,
      currentBits: 0,
      controlOthers: caller.kind === "admin",
      allowAdmin: caller.kind === "admin",
      prefix: `members.${i}.`,
    });
  }

  await insertThreadWithMembers(svc.db, { id: svc.threadId, title: input.title, type }, []);
  const members: MemberRow[] = [];
  for (const entry of entries) {
    const named = entry.input.name
      ? entry.input
      : { ...entry.input, name: nameOf(caller, entry.input) };
    await insertNewMember(svc, fanout, named, entry.defaultBits, members);
  }
  const member =
    caller.kind === "user" ? (members.find((m) => m.userId === caller.user.id) ?? null) : null;
  return threadDetail(svc.db, settings, { thread: await svc.thread(), member, caller }, members);
}

function nameOf(caller: ThreadService["caller"], input: MemberInput): string {
  if (caller.kind === "user" && caller.user.id === input.user_id) return caller.user.name;
  return input.user_id;
}

/**
 * `PATCH /api/threads/:id`: `title` and `state` (every member not in a scripted or assisted
 * state) need `thread_edit`; `notifications` changes the caller's own flags.
 */
export async function editThread(svc: ThreadService, input: EditThreadInput) {
  const access = await svc.authorize("editThread");
  if ((input.title !== undefined || input.state !== undefined) && !may(access, "thread_edit")) {
    throw forbidden("thread_edit");
  }
  if (input.notifications !== undefined && !access.member) {
    throw chatInvalid({ notifications: ["NOT_ALLOWED"] }, "Only members have notifications");
  }
  if (input.title !== undefined) await updateThreadTitle(svc.db, svc.threadId, input.title);
  let members = await svc.members();
  if (input.state !== undefined) {
    for (const m of members) {
      if ((m.state === "open" || m.state === "closed") && m.state !== input.state) {
        await svc.applyMemberChange(m, { state: input.state }, members);
      }
    }
  }
  if (input.notifications !== undefined && access.member) {
    const self = members.find((m) => m.userId === access.member?.userId);
    if (self) {
      await svc.applyMemberChange(
        self,
        { notifications: notificationBits(input.notifications) },
        members,
      );
    }
  }
  members = await svc.members();
  const member = members.find((m) => m.userId === access.member?.userId) ?? null;
  return threadDetail(
    svc.db,
    svc.settings,
    { ...access, thread: await svc.thread(), member },
    members,
  );
}

/** `DELETE /api/threads/:id` (`thread_delete`): the thread and everything in it. */
export async function deleteThread(svc: ThreadService) {
  await svc.authorize("deleteThread");
  await deleteThreadCascade(svc.db, svc.threadId);
}
