import { integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Planning poker (contract §3). A session holds stories in `position` order; one story is
 * active at a time. `choices` is the deck as a JSON array of strings. Timestamps are ISO 8601.
 * `active_story_id` has no foreign key: sessions and stories point at each other.
 */
export const pokerSessions = sqliteTable("poker_sessions", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  choices: text("choices", { mode: "json" }).$type<string[]>().notNull(),
  endRedirectUrl: text("end_redirect_url").notNull(),
  activeStoryId: text("active_story_id"),
  endedAt: text("ended_at"),
  createdAt: text("created_at").notNull(),
});

export const pokerStories = sqliteTable(
  "poker_stories",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => pokerSessions.id),
    storyLabel: text("story_label").notNull(),
    /** Sanitised HTML. */
    description: text("description").notNull(),
    storyPoints: real("story_points"),
    position: integer("position").notNull(),
    /** Votes shown to voters: set by a moderator or once every present voter has voted. */
    revealed: integer("revealed", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("poker_stories_session_position_idx").on(t.sessionId, t.position)],
);

/** One vote per user per story; a second vote replaces the first. */
export const pokerVotes = sqliteTable(
  "poker_votes",
  {
    storyId: text("story_id")
      .notNull()
      .references(() => pokerStories.id),
    userId: text("user_id").notNull(),
    userName: text("user_name").notNull(),
    choice: text("choice").notNull(),
    votedAt: text("voted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.storyId, t.userId] })],
);

/** Who is connected now (one row per user, however many sockets), as the room last saw it. */
export const pokerParticipants = sqliteTable(
  "poker_participants",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => pokerSessions.id),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    permissions: text("permissions", { mode: "json" }).$type<string[]>().notNull(),
    joinedAt: text("joined_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.userId] })],
);
