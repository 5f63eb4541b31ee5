/**
 * Chat-thread helpers for browsers and Node on top of `RoomClient`: typed REST calls of the
 * threads, schemas and surveys routes (contract §7) and the thread's socket with its commands.
 * The REST shapes are the protocol module's: the answers and the survey bodies inferred from the
 * routes' zod schemas, the thread bodies checked against theirs at compile time.
 */
import type {
  ChatSchema,
  ChatSchemaAnswer,
  ChatSchemaQuestion,
} from "../protocol/chat-schemas-rest";
import type { Survey, SurveyItem, SurveyItemInput, SurveyState } from "../protocol/surveys-rest";
import type { DeletedMessage, MemberView, MessageView } from "../protocol/threads";
import type {
  PostMessageInput,
  ThreadAttachmentInput,
  ThreadInput,
  ThreadMemberInput,
} from "../protocol/threads-inputs";
import type {
  ThreadDetail,
  ThreadMessage,
  ThreadMessageWithThread,
  UserThread,
} from "../protocol/threads-rest";
import { ApiError } from "./api-error";
import { type KindProtocol, RoomClient, type RoomClientOptions } from "./room-client";

export type {
  ChatSchema,
  DeletedMessage,
  MemberView,
  MessageView,
  PostMessageInput,
  Survey,
  SurveyItem,
  SurveyItemInput,
  SurveyState,
  ThreadAttachmentInput,
  ThreadDetail,
  ThreadInput,
  ThreadMemberInput,
  ThreadMessage,
  UserThread,
};
export type SchemaAnswer = ChatSchemaAnswer;
export type SchemaQuestion = ChatSchemaQuestion;
/** A posted message with the poster's own view of the thread. */
export type PostedMessage = ThreadMessageWithThread;

/** Kept by this name for the threads helpers' callers: the SDK's one `ApiError`, whose
 * `details` carry the chat codes per field (`{"answers": ["TOO_MANY"]}`). */
export const ThreadsApiError = ApiError;
export type ThreadsApiError = ApiError;

/**
 * One page of a list and the query that asks for it (contract §1). The server's one pagination
 * schema lives with its HTTP layer, which the SDK may not import; these are its wire form.
 */
export interface Page<T> {
  results: T[];
  next: number | null;
}

export interface PageOptions {
  limit?: number;
  offset?: number;
}

/** What a scripted question message carries in `meta.question` (the answers to offer). */
export interface QuestionMeta {
  id: string;
  qid: number;
  type: string;
  show_as_type: string;
  required: boolean;
  choice_open: boolean;
  range_from: number | null;
  range_to: number | null;
  answers: { id: number; text: string }[];
}

/** The question a system message puts to `for_user`, or null for any other message. */
export function questionOf(
  message: MessageView,
): { forUser: string | null; q: QuestionMeta } | null {
  const meta = message.meta as { question?: QuestionMeta; for_user?: string | null } | null;
  if (message.sender !== null || !meta?.question) return null;
  return { forUser: meta.for_user ?? null, q: meta.question };
}

const seg = encodeURIComponent;

function query(options: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** REST calls of the threads, schemas and surveys API against `baseUrl` (e.g. `https://host`). */
export class ThreadsApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** The caller's threads (member views with unread counts), newest activity first. */
  listThreads(
    token: string,
    options: PageOptions & { type?: string } = {},
  ): Promise<Page<UserThread>> {
    return this.call("GET", `/api/threads${query({ ...options })}`, token);
  }

  getThread(token: string, id: string): Promise<ThreadDetail> {
    return this.call("GET", `/api/threads/${seg(id)}`, token);
  }

  createThread(token: string, input: ThreadInput): Promise<ThreadDetail> {
    return this.call("POST", "/api/threads", token, input);
  }

  /** Newest first; marks the returned messages read for the caller. */
  listMessages(
    token: string,
    id: string,
    options: PageOptions & { q?: string } = {},
  ): Promise<Page<ThreadMessage>> {
    return this.call("GET", `/api/threads/${seg(id)}/messages${query({ ...options })}`, token);
  }

  /** The stored message, or null when an automated conversation stored nothing (204). */
  postMessage(token: string, id: string, input: PostMessageInput): Promise<PostedMessage | null> {
    return this.call("POST", `/api/threads/${seg(id)}/messages`, token, input);
  }

  getSchema(token: string, id: string): Promise<ChatSchema> {
    return this.call("GET", `/api/schemas/${seg(id)}`, token);
  }

  /** The caller's own surveys. */
  listSurveys(token: string, options: PageOptions = {}): Promise<Page<Survey>> {
    return this.call("GET", `/api/surveys${query({ ...options })}`, token);
  }

  getSurvey(token: string, id: string): Promise<Survey> {
    return this.call("GET", `/api/surveys/${seg(id)}`, token);
  }

  listSurveyItems(token: string, id: string): Promise<Page<SurveyItem>> {
    return this.call("GET", `/api/surveys/${seg(id)}/items?limit=200`, token);
  }

  /** One answer per question; the reply carries the survey's new visibility. */
  answerSurvey(token: string, id: string, input: SurveyItemInput): Promise<SurveyItem> {
    return this.call("POST", `/api/surveys/${seg(id)}/items`, token, input);
  }

  private async call<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${token}`,
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await this.fetchFn(new URL(path, this.baseUrl).toString(), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await ApiError.from(res);
    if (res.status === 204) return null as T;
    return (await res.json()) as T;
  }
}

/** A thread's socket: `RoomClient` typed by the threads protocol, plus its commands by name. */
export class ThreadRoomClient extends RoomClient<KindProtocol<"threads">> {
  constructor(baseUrl: string, threadId: string, options: Omit<RoomClientOptions, "url">) {
    super({
      ...options,
      url: new URL(`/ws/threads/${encodeURIComponent(threadId)}`, baseUrl).toString(),
    });
  }

  markRead(messageId: number) {
    return this.request("mark_message_as_read", { message: messageId });
  }

  /** Tells the other members this one is writing, for `lengthMs`. */
  writing(lengthMs = 3000): void {
    this.send("thread_someone_is_writing", { length: lengthMs });
  }
}
