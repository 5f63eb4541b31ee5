import type {
  FrequencyUnit,
  MemberPermission,
  MemberState,
  NotificationFlag,
  OnFinish,
} from "./threads-rest";

/**
 * The request bodies of the threads routes, as a client writes them (the zod input types). Their
 * schemas stay with the threads feature because they check user ids and names with the
 * platform's rules, which this module may not import; `src/features/threads/inputs.ts` fails to
 * compile when a schema's input type and the type here differ.
 */

/** A member to add: its user id and any field of `ThreadMemberChange`. */
export interface ThreadMemberInput extends ThreadMemberChange {
  user_id: string;
}

/** The member fields a client may set; the schema ones need `control_others`. */
export interface ThreadMemberChange {
  name?: string;
  permissions?: MemberPermission[];
  notifications?: NotificationFlag[];
  state?: MemberState;
  /** Only the admin token sets roles. */
  roles?: string[];
  lang?: string | null;
  schema_id?: string | null;
  question_id?: string | null;
  initial_question_id?: string | null;
  on_finish?: OnFinish;
  frequency_unit?: FrequencyUnit | null;
  frequency_value?: number | null;
  /** ISO 8601 with an offset. */
  repeat_until?: string | null;
  /** Alias of `schema_id` (the original's name). */
  schema?: string | null;
  /** Alias of `question_id` (the original's name). */
  question?: string | null;
}

export interface ThreadInput {
  title?: string;
  type?: string;
  members?: ThreadMemberInput[];
}

/** At most 8 KiB as JSON, `options` included. */
export interface ThreadAttachmentInput {
  type: string;
  title?: string;
  description?: string;
  url?: string;
  options?: Record<string, unknown>;
  object_type?: string;
  object_id?: string;
}

export interface PostMessageInput {
  /** At most 16 KiB of UTF-8; stored HTML-escaped. */
  text?: string;
  type?: string;
  /** Any JSON object of at most 8 KiB as JSON. */
  meta?: Record<string, unknown> | null;
  attachments?: ThreadAttachmentInput[];
  /** Answer ids of the current question (scripted members): integers or their decimal strings. */
  answers?: (number | string)[];
  /** The question's qid (an integer or its decimal string) or its id. */
  question?: number | string;
  /** A member's user id, or `true` for every scripted member. */
  break_state?: boolean | string;
}
