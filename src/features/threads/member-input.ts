import { ApiError, type FieldErrors } from "../../platform/errors";
import * as time from "../../platform/time";
import type { MemberChangeInput, MemberInput } from "./inputs";
import { type MemberChange, SCHEMA_STATES } from "./member-state";
import { notificationBits } from "./notifications";
import { permissionBits, ungrantable } from "./permissions";
import type { MemberRow, NewMember } from "./queries";
import type { ChatSettings } from "./settings";

/** Fields of the automated conversations: changing them needs `control_others`. */
const CONTROL_FIELDS = [
  "schema_id",
  "question_id",
  "schema",
  "question",
  "initial_question_id",
  "on_finish",
  "frequency_unit",
  "frequency_value",
  "repeat_until",
] as const;

/** The request's member fields as a stored change. */
export function changeFromInput(input: MemberChangeInput): MemberChange {
  const change: MemberChange = {};
  if (input.name !== undefined) change.name = input.name;
  if (input.permissions !== undefined) change.permissions = permissionBits(input.permissions);
  if (input.notifications !== undefined) {
    change.notifications = notificationBits(input.notifications);
  }
  if (input.state !== undefined) change.state = input.state;
  if (input.roles !== undefined) change.roles = input.roles;
  if (input.lang !== undefined) change.lang = input.lang;
  // `schema` and `question` are the original's names of the same fields (equal when both given).
  const schemaId = input.schema_id !== undefined ? input.schema_id : input.schema;
  const questionId = input.question_id !== undefined ? input.question_id : input.question;
  if (schemaId !== undefined) change.schemaId = schemaId;
  if (questionId !== undefined) change.questionId = questionId;
  if (input.initial_question_id !== undefined) {
    change.initialQuestionId = input.initial_question_id;
  }
  if (input.on_finish !== undefined) change.onFinish = input.on_finish;
  if (input.frequency_unit !== undefined) change.frequencyUnit = input.frequency_unit;
  if (input.frequency_value !== undefined) change.frequencyValue = input.frequency_value;
  if (input.repeat_until !== undefined) change.repeatUntil = input.repeat_until;
  return change;
}

/** A new member's row: the settings' defaults under what the request gave. */
export function newMemberRow(
  settings: ChatSettings,
  threadId: string,
  input: MemberInput,
  defaultPermissions: number,
): NewMember & MemberChange {
  return {
    threadId,
    userId: input.user_id,
    name: input.user_id,
    roles: [],
    state: "open",
    permissions: defaultPermissions,
    notifications: notificationBits(settings.notificationsDefault),
    ...changeFromInput(input),
  };
}

/** How a stored row would look, for the hooks and the transition check before inserting it. */
export function previewRow(row: NewMember & MemberChange): MemberRow {
  const at = time.nowIso();
  return {
    id: 0,
    roles: [],
    state: "open",
    lastMessageId: null,
    lang: null,
    schemaId: null,
    questionId: null,
    initialQuestionId: null,
    relatedMessageId: null,
    onFinish: "open",
    frequencyUnit: null,
    frequencyValue: null,
    repeatUntil: null,
    nextRestart: null,
    variables: {},
    createdAt: at,
    updatedAt: at,
    ...row,
  } as MemberRow;
}

/**
 * What a client (not the admin token) may set on a member it adds or changes:
 * - `roles` only the admin token sets (they decide what the message filters reveal);
 * - nobody grants a permission it lacks (keeping one the member already has is fine);
 * - scripted / assisted states and the schema fields need `control_others` (`open` and
 *   `closed` do not: whoever adds a member picks its initial state).
 * Refusals are 403 with `NO_PERMISSIONS` on each offending field (`prefix` names the member).
 */
export function checkGrants(options: {
  input: MemberChangeInput;
  grantorBits: number;
  currentBits: number;
  controlOthers: boolean;
  /** The admin token grants anything. */
  allowAdmin: boolean;
  prefix?: string;
}): void {
  const { input, grantorBits, currentBits, controlOthers, allowAdmin, prefix = "" } = options;
  if (allowAdmin) return;
  const errors: FieldErrors = {};
  if (input.roles !== undefined) errors[`${prefix}roles`] = ["NO_PERMISSIONS"];
  if (input.permissions !== undefined) {
    const wanted = permissionBits(input.permissions);
    if (ungrantable(wanted, grantorBits, currentBits).length) {
      errors[`${prefix}permissions`] = ["NO_PERMISSIONS"];
    }
  }
  if (!controlOthers) {
    for (const field of CONTROL_FIELDS) {
      if (input[field] !== undefined) errors[`${prefix}${field}`] = ["NO_PERMISSIONS"];
    }
    if (input.state !== undefined && SCHEMA_STATES.has(input.state)) {
      errors[`${prefix}state`] = ["NO_PERMISSIONS"];
    }
  }
  if (Object.keys(errors).length) {
    throw new ApiError("forbidden", "You may not grant or control this", errors);
  }
}
