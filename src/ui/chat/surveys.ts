/**
 * The member's surveys: each visible question (contract §7: the first one, then what `next_qid`
 * of the question and of the chosen answers makes visible) with answer buttons or a text field.
 * An answer's reply carries the survey's new visibility, so the next questions appear at once.
 */
import type {
  ChatSchema,
  SchemaQuestion,
  Survey,
  SurveyItem,
  ThreadsApi,
} from "../../client/threads";
import { $, announce, el, notify, plain } from "./dom";
import { explain } from "./explain";

interface Shown {
  survey: Survey;
  schema: ChatSchema;
  items: SurveyItem[];
}

export async function showSurveys(api: ThreadsApi, token: string): Promise<void> {
  const surveys = (await api.listSurveys(token)).results;
  $("surveys").hidden = surveys.length === 0;
  const boxes = await Promise.all(
    surveys.map(async (survey) => {
      const shown: Shown = {
        survey,
        schema: await api.getSchema(token, survey.schema_id),
        items: (await api.listSurveyItems(token, survey.id)).results,
      };
      const box = el("section", { className: "survey" });
      render(api, token, shown, box);
      return box;
    }),
  );
  $("survey-list").replaceChildren(...boxes);
}

function render(api: ThreadsApi, token: string, shown: Shown, box: HTMLElement): void {
  const { survey, schema, items } = shown;
  const visible = schema.questions
    .filter((q) => survey.state.visibility.includes(q.qid))
    .sort((a, b) => a.position - b.position);
  const answer = async (q: SchemaQuestion, input: { answers?: number[]; text?: string }) => {
    try {
      notify(null);
      const item = await api.answerSurvey(token, survey.id, { question: q.qid, ...input });
      const before = new Set(survey.state.visibility);
      shown.items = [...items, item];
      shown.survey = { ...survey, state: item.survey_state };
      const added = item.survey_state.visibility.filter((qid) => !before.has(qid));
      render(api, token, shown, box);
      announce(
        added.length
          ? `Answer saved. ${added.length} new question${added.length > 1 ? "s" : ""}.`
          : "Answer saved.",
      );
    } catch (err) {
      notify(explain(err));
    }
  };
  const titleId = `survey-${survey.id}`;
  box.setAttribute("aria-labelledby", titleId);
  box.replaceChildren(
    el("h3", { id: titleId }, [schema.name]),
    el("p", { className: "hint" }, [
      survey.state.completed ? "Completed: every required question is answered." : "In progress.",
    ]),
    ...visible.map((q) =>
      questionBlock(
        q,
        items.find((i) => i.question === q.qid),
        answer,
      ),
    ),
  );
}

function questionBlock(
  q: SchemaQuestion,
  item: SurveyItem | undefined,
  answer: (q: SchemaQuestion, input: { answers?: number[]; text?: string }) => Promise<void>,
): HTMLElement {
  const block = el("fieldset", { className: "survey-question" }, [
    el("legend", {}, [
      plain(q.text),
      ...(q.required ? [" ", el("span", { className: "required" }, ["(required)"])] : []),
    ]),
  ]);
  block.dataset.qid = String(q.qid);
  if (item) {
    const chosen = q.answers.filter((a) => item.answers.includes(a.id)).map((a) => plain(a.text));
    const said = [...chosen, item.text ?? ""].filter(Boolean).join(", ");
    block.append(el("p", { className: "answered" }, [`Your answer: ${said || "(skipped)"}`]));
    return block;
  }
  if (q.answers.length > 0) {
    const row = el("div", { className: "answers" });
    for (const a of q.answers) {
      const button = el("button", { type: "button", className: "answer" }, [plain(a.text)]);
      button.onclick = () => void answer(q, { answers: [a.id] });
      row.append(button);
    }
    block.append(row);
    return block;
  }
  const inputId = `survey-q-${q.id}`;
  const input = el("input", { id: inputId, type: "text", autocomplete: "off" });
  const send = el("button", { type: "button" }, ["Answer"]);
  send.onclick = () => void answer(q, { text: input.value });
  block.append(el("label", { htmlFor: inputId }, ["Your answer"]), input, send);
  return block;
}
