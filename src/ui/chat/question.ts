/**
 * A scripted conversation's current question as answer buttons. The question is the newest
 * system message that puts a question to this member (`meta.question`, `meta.for_user`) with no
 * post of the member after it; answering posts the chosen answer ids, and the server's next
 * question arrives as the next message.
 */
import {
  type MemberView,
  type MessageView,
  type QuestionMeta,
  questionOf,
} from "../../client/threads";
import { $, el, plain } from "./dom";

const SCRIPTED = new Set(["scripted", "scripted_fe_controlled"]);

export function currentQuestion(
  messages: MessageView[],
  member: MemberView,
): { message: MessageView; q: QuestionMeta } | null {
  if (!SCRIPTED.has(member.state)) return null;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as MessageView;
    if (m.is_own) return null;
    const found = questionOf(m);
    if (found && (found.forUser === null || found.forUser === member.user_id)) {
      return { message: m, q: found.q };
    }
  }
  return null;
}

export type Answer = (answers: number[]) => Promise<void>;

export function renderQuestion(
  current: { message: MessageView; q: QuestionMeta } | null,
  answer: Answer,
): void {
  const panel = $("question");
  panel.hidden = !current;
  if (!current) return;
  const { message, q } = current;
  $("question-text").textContent = plain(message.text);
  const box = $("question-answers");
  if (q.answers.length === 0) {
    box.replaceChildren(el("p", { className: "hint" }, ["Type your answer below and send it."]));
    return;
  }
  if (q.type === "multichoice") {
    const boxes = q.answers.map((a) => {
      const input = el("input", { type: "checkbox", value: String(a.id) });
      return el("label", { className: "check" }, [input, ` ${plain(a.text)}`]);
    });
    const send = el("button", { type: "button" }, ["Send answers"]);
    send.onclick = () => {
      const chosen = boxes
        .map((l) => l.querySelector("input") as HTMLInputElement)
        .filter((i) => i.checked)
        .map((i) => Number(i.value));
      void answer(chosen);
    };
    box.replaceChildren(...boxes, send);
    return;
  }
  box.replaceChildren(
    ...q.answers.map((a) => {
      const button = el("button", { type: "button", className: "answer" }, [plain(a.text)]);
      button.onclick = () => void answer([a.id]);
      return button;
    }),
  );
}
