import { z } from "zod";

/**
 * How clients name a schema's answers and questions (scripted messages, survey items). The
 * original (Django REST framework) reads an integer id and its decimal string alike, so both
 * are accepted here and read as the number.
 */
const NumericId = z
  .union([
    z.number().int().min(0),
    z
      .string()
      .max(10)
      .regex(/^\d{1,10}$/),
  ])
  .transform(Number);

/** An answer's `id`, e.g. `11` or `"11"`. */
export const AnswerRef = NumericId.meta({
  description: "An answer's id: an integer or its decimal string",
  example: 11,
});

/** A question's `qid` (an integer or its decimal string, read as the number) or its `id`. */
export const QuestionRef = z.union([NumericId, z.uuid().max(36)]).meta({
  description: "The question's qid (an integer or its decimal string) or its id",
  example: 1,
});
