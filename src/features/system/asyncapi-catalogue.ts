import type {
  AuthReply,
  ClientEvents,
  ClientReplies,
  ErrorData,
  Instance,
  MemberView,
  MessageView,
  Participant,
  PokerSession,
  RoomKindName,
  ServerEvents,
  StoryView,
  TokenExpiringData,
} from "../../protocol";

/**
 * What the AsyncAPI document says about each event beyond its schema: a one-line summary and
 * an example. Typed by the protocol's event maps, so an event added there does not compile
 * until it is described here, and each example has its event's type (a test also parses every
 * example with the schema that validates the frame).
 */

export interface Entry<T> {
  summary: string;
  example: T;
  /** A server event of the room's ordered stream: it carries `seq` and `?since=` replays it. */
  stream?: true;
}

type Catalogue<M> = { [E in keyof M]-?: Entry<M[E]> };

export interface KindCatalogue<K extends RoomKindName> {
  /** The room kind in a few words, and the parameter of its path `/ws/<kind>/{param}`. */
  title: string;
  param: { name: string; description: string };
  client: Catalogue<ClientEvents[K]>;
  server: Catalogue<ServerEvents[K]>;
  replies: Catalogue<ClientReplies[K]>;
}

const AT = "2026-12-07T15:00:00.000Z";

const auth: Entry<{ token: string }> = {
  summary:
    "Replaces the socket's credential with a fresh token of the same user (answered by every room kind before its own events); reply 200 with `expires_at`, or 401 and nothing changes",
  example: { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl" },
};

const authReply: Entry<AuthReply> = {
  summary: "When the new credential ends (null for an API key without expiry)",
  example: { expires_at: "2026-12-07T16:00:00.000Z" },
};

/** The events the base room sends in every kind; only `resync` differs by kind. */
function baseServer<S>(resync: Omit<Entry<S>, "stream">): {
  resync: Entry<S>;
  error: Entry<ErrorData>;
  token_expiring: Entry<TokenExpiringData>;
} {
  // `resync` carries the stream's head `seq`: the client continues after it.
  return {
    resync: { ...resync, stream: true },
    error: {
      summary:
        "A frame without `request_id` was refused (bad JSON, unknown event, permission, validation, size, rate); the socket stays open",
      example: { status: 400, errors: ["Unknown event 'vote'"] },
    },
    token_expiring: {
      summary:
        "The socket's credential ends at `expires_at`: send `auth` with a fresh token before then, or the socket closes with 4401",
      example: { expires_at: "2026-12-07T15:01:00.000Z" },
    },
  };
}

const ada = { id: "u1", name: "Ada" };
const bo = { id: "u2", name: "Bo" };

const story: StoryView = {
  id: "7d0c3f5e-2b1a-4c8e-9f00-1a2b3c4d5e6f",
  story_label: "PROJ-42: Login page",
  description: "<p>As a user I want to <strong>log in</strong>.</p>",
  votes: { "3": [ada] },
  revealed: false,
  voted: [ada, bo],
  story_points: null,
};

const participants: Participant[] = [
  {
    id: "u1",
    name: "Ada",
    username: "Ada",
    permissions: ["planning_poker.moderate", "planning_poker.vote"],
  },
  { id: "u2", name: "Bo", username: "Bo", permissions: ["planning_poker.vote"] },
];

const session: PokerSession = {
  id: "0b6f1a4e-5c2d-4e8f-a1b2-c3d4e5f60718",
  name: "Sprint 12",
  choices: ["1", "2", "3", "5", "8", "13", "?"],
  end_redirect_url: "/poker/",
  active_story_id: story.id,
  ended: false,
  ended_at: null,
  created_at: AT,
};

const poker: KindCatalogue<"poker"> = {
  title: "A planning-poker session",
  param: { name: "id", description: "The session id" },
  client: {
    next_story_requested: {
      summary:
        "Moderators: make a story active (with `story_id`), or the next one without points; none left ends the session",
      example: { story_id: story.id },
    },
    points_submitted: {
      summary:
        "Moderators: set the active story's points (a numeric option of the deck); `advance` also moves on",
      example: { story_points: "5", advance: true },
    },
    vote_submitted: {
      summary: "Voters: one of the session's choices; a second vote replaces the first",
      example: { choice: "3" },
    },
    vote_withdrawn: {
      summary: "Voters: take back the sender's vote on the active story",
      example: {},
    },
    reset_requested: { summary: "Moderators: clear the active story's votes", example: {} },
    reveal_requested: {
      summary: "Moderators: reveal the votes now (`revealed: false` hides them again)",
      example: { revealed: true },
    },
    timer_started: {
      summary: "Moderators: start (or restart) the round timer everyone sees",
      example: { seconds: 120 },
    },
    timer_stopped: { summary: "Moderators: stop the round timer", example: {} },
    heartbeat: {
      summary: "Anyone: keeps the participant listed (the original client sends it every 20 s)",
      example: {},
    },
    auth,
  },
  server: {
    story_changed: {
      stream: true,
      summary:
        "The active story as this socket may see it: on a story change, vote, reset or reveal, and to a joining socket",
      example: story,
    },
    story_points_submitted: {
      stream: true,
      summary: "A moderator set the active story's points",
      example: { story_points: 5, story_id: story.id },
    },
    participants_changed: {
      summary:
        "Who is present, sorted by name: on a join, a leave past the grace, or 60 s of silence",
      example: { participants },
    },
    poker_session_ended: {
      stream: true,
      summary: "The session ended; the sockets close with 4410 and new connections get 410",
      example: { poker_session_end_redirect_url: "/poker/" },
    },
    story_added: {
      stream: true,
      summary: "A story was added over REST (for moderators' story lists)",
      example: {
        id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        story_label: "PROJ-43: Logout",
        description: "<p>As a user I want to log out.</p>",
        story_points: null,
        position: 1,
      },
    },
    timer_changed: {
      stream: true,
      summary: "The round timer started or stopped; also sent to a joining socket while it runs",
      example: { ends_at: "2026-12-07T15:02:00.000Z", seconds: 120 },
    },
    ...baseServer({
      summary:
        "First frame of a resume older than the room keeps: the session, this socket's view of the active story, who is present and the timer",
      example: {
        session,
        story,
        participants,
        timer: { ends_at: null, seconds: null },
      },
    }),
  },
  replies: { auth: authReply },
};

const message: MessageView = {
  id: 101,
  thread: "3f2e1d0c-b9a8-4765-8432-10fedcba9876",
  sender: "u2",
  sender_data: bo,
  type: "message",
  text: "Shall we ship on Friday?",
  meta: null,
  related_question: null,
  answers: null,
  created: AT,
  updated: AT,
  has_attachments: false,
  attachments_data: [],
  is_own: false,
  is_read: false,
};

const member: MemberView = {
  id: message.thread,
  title: "Release planning",
  type: "chat",
  created: AT,
  updated: AT,
  user_id: "u1",
  state: "open",
  permissions: ["messages_read", "messages_create", "thread_read"],
  notifications: ["unread", "ws"],
  unread_count: 1,
  last_message_data: message,
  schema_id: null,
  question_id: null,
  initial_question_id: null,
  related_message_id: null,
  on_finish: null,
};

const threads: KindCatalogue<"threads"> = {
  title: "A chat thread (members, or one observed thread per user with `threads.observe`)",
  param: { name: "id", description: "The thread id" },
  client: {
    mark_message_as_read: {
      summary: "Marks a message read for this member; the reply carries the new unread count",
      example: { message: 101 },
    },
    thread_someone_is_writing: {
      summary: "Tells the other members this one is writing, for `length` ms",
      example: { length: 3000 },
    },
    auth,
  },
  server: {
    message_created_or_updated: {
      stream: true,
      summary:
        "A message was posted, edited or deleted (`deleted: true`), with the receiving member's own view of the thread",
      example: { message, user_thread: member },
    },
    thread_someone_is_writing: {
      summary: "Another member is writing (not part of the ordered stream)",
      example: { thread: message.thread, user: bo, length: 3000 },
    },
    ...baseServer({
      summary:
        "First frame of a resume older than the room keeps: this socket's view of the thread (messages are listed over REST)",
      example: { user_thread: member },
    }),
  },
  replies: {
    mark_message_as_read: {
      summary: "The message marked read and the member's unread count now",
      example: { message: 101, unread_count: 0 },
    },
    auth: authReply,
  },
};

const bus: KindCatalogue<"bus"> = {
  title:
    "The bus channels of namespace `{db}` named in `?channels=` (the socket only listens; `user:<own id>` is always added)",
  param: { name: "db", description: "The namespace (`[A-Za-z0-9_-]{1,64}`)" },
  client: { auth },
  server: {
    message: {
      summary:
        "The next message on one of the socket's channels; `gap: true` when messages after `last_message` were pruned",
      example: {
        channel: "orders.eu",
        message: { message_id: "5f3a9c1e7b20-42", type: "order_shipped", order: "SO-1" },
      },
    },
    ...baseServer({
      summary:
        "Never sent in practice: the bus resumes by `last_message`, not `since` (an empty object)",
      example: {},
    }),
  },
  replies: { auth: authReply },
};

const flows: Instance[] = [{ id: "f-1", identifier: "onboarding", state: "active" }];

const persons: KindCatalogue<"persons"> = {
  title: "A person's flow and step states (the person's own token, or `state.observe`)",
  param: { name: "key", description: "The person key" },
  client: {
    subscribe_state_change: {
      summary:
        "Subscribes to the person's flow or step changes (idempotent); the reply carries them as they are now",
      example: { person_key: "p-1", entity: "flow" },
    },
    unsubscribe_state_change: {
      summary: "Ends that subscription",
      example: { person_key: "p-1", entity: "flow" },
    },
    auth,
  },
  server: {
    state_change: {
      summary:
        "A subscribed flow or step changed state; the frame carries the subscription's `request_id`",
      example: {
        entity: "flow",
        id: "f-1",
        identifier: "onboarding",
        state: "active",
        previous_state: "inactive",
      },
    },
    ...baseServer({
      summary:
        "Sent on a `?since=` above 0 (the person room keeps no stream): the person's flows and steps now",
      example: { flows, steps: [{ id: "s-1", identifier: "welcome", state: "completed" }] },
    }),
  },
  replies: {
    subscribe_state_change: {
      summary: "The entity's records as they are now, so no change races the subscription",
      example: { current: flows },
    },
    auth: authReply,
  },
};

export const CATALOGUE: { [K in RoomKindName]: KindCatalogue<K> } = {
  poker,
  threads,
  bus,
  persons,
};
