/**
 * The threads SDK's REST types are the protocol module's zod types: a schema change that the SDK
 * does not follow fails to compile here (root `tsc` and `tsc -p src/client`). The thread bodies,
 * whose schemas stay with the threads feature, are checked against them in
 * `src/features/threads/inputs.ts`. Nothing here runs.
 */
import { expectTypeOf } from "vitest";
import type { z } from "zod";
import type { Page, ThreadsApi } from "../../src/client/threads";
import type { ChatSchema } from "../../src/protocol/chat-schemas-rest";
import type { Survey, SurveyItem, SurveyItemInput } from "../../src/protocol/surveys-rest";
import type { ThreadInput } from "../../src/protocol/threads-inputs";
import type {
  ThreadDetail,
  ThreadMessage,
  ThreadMessageWithThread,
  UserThread,
} from "../../src/protocol/threads-rest";

type Input<M extends keyof ThreadsApi, I extends number> = ThreadsApi[M] extends (
  ...args: infer A
) => unknown
  ? A[I]
  : never;
type Answer<M extends keyof ThreadsApi> = ThreadsApi[M] extends (
  ...args: never[]
) => Promise<infer R>
  ? R
  : never;

// Request bodies: what the route's schema accepts.
expectTypeOf<Input<"answerSurvey", 2>>().toEqualTypeOf<z.input<typeof SurveyItemInput>>();
expectTypeOf<Input<"createThread", 1>>().toEqualTypeOf<ThreadInput>();
// A body the schema refuses is refused by the SDK's type too.
// @ts-expect-error `question` is a qid or an id, never a boolean
expectTypeOf<Input<"answerSurvey", 2>>().toEqualTypeOf<{ question: boolean }>();

// Answers: what the route's schema documents.
expectTypeOf<Answer<"answerSurvey">>().toEqualTypeOf<z.output<typeof SurveyItem>>();
expectTypeOf<Answer<"getSurvey">>().toEqualTypeOf<z.output<typeof Survey>>();
expectTypeOf<Answer<"listSurveys">>().toEqualTypeOf<Page<z.output<typeof Survey>>>();
expectTypeOf<Answer<"getSchema">>().toEqualTypeOf<z.output<typeof ChatSchema>>();
expectTypeOf<Answer<"getThread">>().toEqualTypeOf<z.output<typeof ThreadDetail>>();
expectTypeOf<Answer<"listThreads">>().toEqualTypeOf<Page<z.output<typeof UserThread>>>();
expectTypeOf<Answer<"listMessages">>().toEqualTypeOf<Page<z.output<typeof ThreadMessage>>>();
expectTypeOf<Answer<"postMessage">>().toEqualTypeOf<z.output<
  typeof ThreadMessageWithThread
> | null>();
