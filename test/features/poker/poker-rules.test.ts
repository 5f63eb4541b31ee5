import { describe, expect, it } from "vitest";
import { isPointChoice, storyPointsFor } from "../../../src/features/poker/deck";
import { nextStory } from "../../../src/features/poker/next-story";
import { isHiddenVoter, participantsOf } from "../../../src/features/poker/participants";
import { hiddenView, storyView, stringifyStoryFrame } from "../../../src/features/poker/story-view";

const story = (id: string, position: number, storyPoints: number | null = null) => ({
  id,
  position,
  storyPoints,
});

describe("next story rules", () => {
  const stories = [story("a", 0, 3), story("b", 1), story("c", 2, 5), story("d", 3)];

  it("starts at the first story without points", () => {
    expect(nextStory(stories, null)?.id).toBe("b");
  });

  it("moves to the next story without points after the active one", () => {
    expect(nextStory(stories, "a")?.id).toBe("b");
    expect(nextStory(stories, "b")?.id).toBe("d");
  });

  it("wraps round to earlier stories without points, never staying on the active one", () => {
    expect(nextStory(stories, "d")?.id).toBe("b");
    expect(nextStory([story("x", 0)], "x")).toBeNull();
  });

  it("answers null when every story has points (the session ends)", () => {
    expect(nextStory([story("a", 0, 1), story("b", 1, 2)], "a")).toBeNull();
    expect(nextStory([], null)).toBeNull();
  });

  it("orders by position, not by list order", () => {
    expect(nextStory([story("late", 5), story("early", 1)], null)?.id).toBe("early");
  });
});

describe("deck", () => {
  it("accepts numeric options of the deck as story points only", () => {
    expect(isPointChoice("13")).toBe(true);
    expect(isPointChoice("0.5")).toBe(true);
    expect(isPointChoice("?")).toBe(false);
    expect(storyPointsFor(["1", "0.5", "Too large"], "0.5")).toBe(0.5);
    expect(storyPointsFor(["1", "Too large"], "Too large")).toBeNull();
    expect(storyPointsFor(["1"], "2")).toBeNull();
  });
});

describe("votes view", () => {
  const votes = [
    { userId: "u1", userName: "Zed", choice: "5" },
    { userId: "u2", userName: "Amy", choice: "13" },
    { userId: "u3", userName: "Bob", choice: "13" },
    { userId: "u4", userName: "Cy", choice: "Too large" },
  ];
  const record = {
    id: "s",
    storyLabel: "S",
    description: "",
    storyPoints: null,
    revealed: false,
  };
  const deck = ["5", "13", "Too large"];

  it("serialises votes with the most voted choice first", () => {
    const text = stringifyStoryFrame({
      event: "story_changed",
      data: storyView(record, votes, deck),
      seq: 7,
    });
    expect(text.indexOf('"13"')).toBeLessThan(text.indexOf('"5"'));
    const parsed = JSON.parse(text);
    expect(parsed.seq).toBe(7);
    expect(parsed.data.votes["13"].map((v: any) => v.name)).toEqual(["Amy", "Bob"]);
    expect(parsed.data.voted.map((v: any) => v.name)).toEqual(["Amy", "Bob", "Cy", "Zed"]);
    expect(Object.keys(parsed.data)).toEqual([
      "id",
      "story_label",
      "description",
      "votes",
      "revealed",
      "voted",
      "story_points",
    ]);
  });

  it("keeps only the viewer's own vote in a hidden view", () => {
    const view = hiddenView(storyView(record, votes, deck), "u3");
    expect(view.votes).toEqual({ "13": [{ id: "u3", name: "Bob" }] });
    expect(view.voted).toHaveLength(4);
    expect(hiddenView(storyView(record, votes, deck), "nobody").votes).toEqual({});
  });
});

describe("participants", () => {
  it("dedupes users, sorts by name and lists only poker permissions", () => {
    const list = participantsOf([
      { id: "b", name: "Bea", admin: false, permissions: ["planning_poker.vote", "bus.publish"] },
      { id: "a", name: "Al", admin: false, permissions: [] },
      { id: "b", name: "Bea", admin: false, permissions: ["planning_poker.vote"] },
      { id: "admin", name: "admin", admin: true, permissions: [] },
    ]);
    expect(list).toEqual([
      {
        id: "admin",
        name: "admin",
        username: "admin",
        permissions: ["planning_poker.moderate", "planning_poker.vote"],
      },
      { id: "a", name: "Al", username: "Al", permissions: [] },
      { id: "b", name: "Bea", username: "Bea", permissions: ["planning_poker.vote"] },
    ]);
  });

  it("hides votes only from voters who cannot moderate", () => {
    expect(isHiddenVoter(["planning_poker.vote"])).toBe(true);
    expect(isHiddenVoter(["planning_poker.vote", "planning_poker.moderate"])).toBe(false);
    expect(isHiddenVoter([])).toBe(false);
  });
});
