// Adds .openapi() to zod's schemas (extendZodWithOpenApi) before this module runs.
import "@hono/zod-openapi";
import { z } from "zod";
import { UserId, UserName } from "../../platform/auth/user-id";
import { AnswerRef, QuestionRef } from "../../protocol/answer-refs";
import type * as wire from "../../protocol/threads-inputs";
import {
  FreeObject,
  jsonBytes,
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
  MessageMeta,
  MessageText,
} from "./bounds";
import { FREQUENCY_UNITS, MEMBER_STATES, ON_FINISH } from "./member-state";
import { NOTIFICATION_NAMES } from "./notifications";
import { PERMISSION_NAMES } from "./permissions";

/** Request bodies of the threads area (validated at the edge, used by the room's operations). */

const Id = z.string().min(1).max(200);
/** A member's user id: the charset of every user id, at most 128 characters. */
const MemberUserId = UserId.max(128);
const Permissions = z.array(z.enum(PERMISSION_NAMES)).max(PERMISSION_NAMES.length);
const Notifications = z.array(z.enum(NOTIFICATION_NAMES)).max(NOTIFICATION_NAMES.length);

/** The member fields a client may set (adding) or change; the schema ones need `control_others`. */
const memberFields = {
  name: UserName,
  permissions: Permissions,
  notifications: Notifications,
  state: z.enum(MEMBER_STATES),
  roles: z.array(z.string().min(1).max(64)).max(20),
  lang: z.string().min(2).max(16).nullable(),
  schema_id: Id.nullable(),
  question_id: Id.nullable(),
  initial_question_id: Id.nullable(),
  on_finish: z.enum(ON_FINISH),
  frequency_unit: z.enum(FREQUENCY_UNITS).nullable(),
  frequency_value: z.number().int().min(1).max(10_000).nullable(),
  repeat_until: z.iso.datetime({ offset: true }).max(64).nullable(),
  // The original chat API's names of these fields (contract §7): its clients keep working.
  schema: Id.nullable().openapi({ description: "Alias of `schema_id` (the original's name)" }),
  question: Id.nullable().openapi({ description: "Alias of `question_id` (the original's name)" }),
};

type AliasedField = "schema" | "schema_id" | "question" | "question_id";

/** A field and its alias given with different values is ambiguous: `WRONG_VALUE` on the alias. */
function sameAsAlias(input: Partial<Record<AliasedField, string | null>>, ctx: z.RefinementCtx) {
  const pairs = [
    ["schema", input.schema, input.schema_id],
    ["question", input.question, input.question_id],
  ] as const;
  for (const [alias, aliased, canonical] of pairs) {
    if (aliased !== undefined && canonical !== undefined && aliased !== canonical) {
      ctx.addIssue({ code: "custom", path: [alias], message: `${alias} differs from ${alias}_id` });
    }
  }
}

export const MemberChangeInput = z
  .object(memberFields)
  .partial()
  .strict()
  .superRefine(sameAsAlias)
  .openapi("ThreadMemberChange");
export type MemberChangeInput = z.infer<typeof MemberChangeInput>;

export const MemberInput = z
  .object({ user_id: MemberUserId, ...memberFields })
  .partial()
  .required({ user_id: true })
  .strict()
  .superRefine(sameAsAlias)
  .openapi("ThreadMemberInput");
export type MemberInput = z.infer<typeof MemberInput>;

export const CreateThreadInput = z
  .object({
    title: z.string().max(255).default(""),
    type: z.string().min(1).max(50).optional(),
    members: z.array(MemberInput).max(500).default([]),
  })
  .strict()
  .openapi("ThreadCreate");
export type CreateThreadInput = z.infer<typeof CreateThreadInput>;

export const EditThreadInput = z
  .object({
    title: z.string().max(255),
    /** Opens or closes the thread for every member not in a scripted or assisted state. */
    state: z.enum(["open", "closed"]),
    /** The caller's own notification flags. */
    notifications: Notifications,
  })
  .partial()
  .strict()
  .openapi("ThreadEdit");
export type EditThreadInput = z.infer<typeof EditThreadInput>;

export const AttachmentInputSchema = z
  .object({
    type: z.string().min(1).max(50),
    title: z.string().max(255).optional(),
    description: z.string().max(5000).optional(),
    url: z.string().max(2000).optional(),
    options: FreeObject.optional(),
    object_type: z.string().max(100).optional(),
    object_id: z.string().max(200).optional(),
  })
  .strict()
  .refine((a) => jsonBytes(a) <= MAX_ATTACHMENT_BYTES, { message: "attachment is over 8 KiB" })
  .openapi("ThreadAttachmentInput", {
    description: "At most 8 KiB (8,192 bytes) as JSON, `options` included",
  });

export const PostMessageInput = z
  .object({
    text: MessageText.default(""),
    type: z.string().min(1).max(50).default("message"),
    meta: MessageMeta.nullable().optional(),
    attachments: z.array(AttachmentInputSchema).max(MAX_ATTACHMENTS).default([]),
    /** Answer ids as the domain keeps them: decimal strings (`11` and `"11"` are the same). */
    answers: z.array(AnswerRef.transform(String)).max(100).optional(),
    question: QuestionRef.transform(String).optional(),
    /** With `break_state`: a member's user id, or `true` for every scripted member. */
    break_state: z.union([z.boolean(), MemberUserId]).optional(),
  })
  .strict()
  .openapi("ThreadMessageCreate");
export type PostMessageInput = z.infer<typeof PostMessageInput>;

export const EditMessageInput = z
  .object({ text: MessageText, meta: MessageMeta.nullable() })
  .partial()
  .strict()
  .openapi("ThreadMessageEdit");
export type EditMessageInput = z.infer<typeof EditMessageInput>;

/** `true` only when A and B are the same type, not merely assignable one to the other. */
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only with `true`: the SDK's request types (protocol module) match these schemas. */
type InSync<T extends true> = T;
export type ThreadInputsInSync = [
  InSync<Same<z.input<typeof MemberChangeInput>, wire.ThreadMemberChange>>,
  InSync<Same<z.input<typeof MemberInput>, wire.ThreadMemberInput>>,
  InSync<Same<z.input<typeof CreateThreadInput>, wire.ThreadInput>>,
  InSync<Same<z.input<typeof AttachmentInputSchema>, wire.ThreadAttachmentInput>>,
  InSync<Same<z.input<typeof PostMessageInput>, wire.PostMessageInput>>,
];
