import { z } from "zod";
import type { Caller } from "../../platform/auth/caller";
import { type AttachmentType, BUILTIN_ATTACHMENT_TYPES } from "./attachments";
import { NOTIFICATION_NAMES, type NotificationFlag } from "./notifications";
import { hasBit, type MemberPermission, PERMISSION_NAMES } from "./permissions";
import type { threadMembers } from "./schema";
import type { FilterableMessage, Viewer } from "./viewer";

type MemberRow = typeof threadMembers.$inferSelect;

/** Every REST entry of the threads area, each with a replaceable permission check. */
export type ThreadRoute =
  | "createThread"
  | "listThreads"
  | "getThread"
  | "editThread"
  | "deleteThread"
  | "listUsers"
  | "getUser"
  | "addUser"
  | "changeUser"
  | "removeUser"
  | "listMessages"
  | "createMessage"
  | "editMessage"
  | "deleteMessage"
  | "wsSubscribe";

/**
 * Decides whether a client may call a route at all (the finer rules — who may grant what, edit
 * whose message — still apply afterwards). `member` is the caller's membership, null if none.
 * The admin token is a superuser and never reaches a guard.
 */
export type RouteGuard = (ctx: { caller: Caller; member: MemberRow | null }) => boolean;

/** The list filter: the message types a viewer never sees (applied in SQL). */
export type ListFilter = (viewer: Viewer) => string[];
/** The per-message filter: whether a viewer may see one message (sockets, unread, last message). */
export type MessageFilter = (message: FilterableMessage, viewer: Viewer) => boolean;

export interface PageSettings {
  defaultLimit: number;
  maxLimit: number;
}

/** The seed's `CHAT_SETTINGS`, typed. */
export interface ChatSettings {
  threadTypes: string[];
  defaultThreadType: string;
  /** Types `GET /api/threads` lists (the seed's `TYPES_CHAT_LIST_THROUGH_API`). */
  listableThreadTypes: string[];
  /** Types a client may post. System messages (scripted questions) may use any type. */
  messageTypes: string[];
  /** Message type → the roles that may see it; everyone else never gets such a message. */
  restrictedMessageTypes: Record<string, string[]>;
  listFilter: ListFilter;
  messageFilter: MessageFilter;
  attachmentTypes: Record<string, AttachmentType>;
  pagination: { threads: PageSettings; messages: PageSettings; users: PageSettings };
  permissionsDefault: MemberPermission[];
  creatorPermissionsDefault: MemberPermission[];
  notificationsDefault: NotificationFlag[];
  routePermissions: Record<ThreadRoute, RouteGuard>;
  /** The bus namespace that receives `thread_unread` nudges (env `THREADS_BUS_DB`). */
  busDb: string;
}

const member =
  (permission: MemberPermission): RouteGuard =>
  ({ member }) =>
    member !== null && hasBit(member.permissions, permission);
const anyCaller: RouteGuard = ({ caller }) => caller.kind !== "anonymous";

/** The restricted types a viewer lacks a role for (shared by both default filters). */
export function hiddenTypesFor(restricted: Record<string, string[]>, viewer: Viewer): string[] {
  return Object.entries(restricted)
    .filter(([, roles]) => !roles.some((r) => viewer.roles.includes(r)))
    .map(([type]) => type);
}

const DATA_DEFAULTS = {
  threadTypes: ["chat", "survey", "tracker"],
  defaultThreadType: "chat",
  listableThreadTypes: ["chat", "survey", "tracker"],
  messageTypes: ["message", "secret"],
  restrictedMessageTypes: { secret: ["admin"] },
  pagination: {
    threads: { defaultLimit: 50, maxLimit: 200 },
    messages: { defaultLimit: 50, maxLimit: 200 },
    users: { defaultLimit: 50, maxLimit: 200 },
  },
  permissionsDefault: ["messages_read", "messages_create", "thread_read"],
  creatorPermissionsDefault: [
    "messages_read",
    "messages_create",
    "messages_delete",
    "thread_read",
    "thread_edit",
    "thread_delete",
    "add_user",
    "remove_user",
  ],
  notificationsDefault: ["unread", "ws"],
} satisfies Partial<ChatSettings>;

function defaults(): ChatSettings {
  let restricted: Record<string, string[]> = DATA_DEFAULTS.restrictedMessageTypes;
  const settings: ChatSettings = {
    ...structuredClone(DATA_DEFAULTS),
    permissionsDefault: [...DATA_DEFAULTS.permissionsDefault] as MemberPermission[],
    creatorPermissionsDefault: [...DATA_DEFAULTS.creatorPermissionsDefault] as MemberPermission[],
    notificationsDefault: [...DATA_DEFAULTS.notificationsDefault] as NotificationFlag[],
    listFilter: (viewer) => hiddenTypesFor(restricted, viewer),
    messageFilter: (message, viewer) => !hiddenTypesFor(restricted, viewer).includes(message.type),
    attachmentTypes: { ...BUILTIN_ATTACHMENT_TYPES },
    routePermissions: {
      createThread: anyCaller,
      listThreads: anyCaller,
      getThread: member("thread_read"),
      editThread: ({ member }) => member !== null,
      deleteThread: member("thread_delete"),
      listUsers: member("thread_read"),
      getUser: member("thread_read"),
      addUser: member("add_user"),
      changeUser: ({ member }) => member !== null,
      removeUser: ({ member }) => member !== null,
      listMessages: member("messages_read"),
      createMessage: member("messages_create"),
      editMessage: member("messages_edit"),
      deleteMessage: member("messages_delete"),
      wsSubscribe: ({ caller }) =>
        caller.kind === "user" && caller.permissions.includes("threads.observe"),
    },
    busDb: "main",
  };
  // The default filters read the final `restrictedMessageTypes`, whichever layer set it.
  Object.defineProperty(settings, "restrictedMessageTypes", {
    enumerable: true,
    get: () => restricted,
    set: (value: Record<string, string[]>) => {
      restricted = value;
    },
  });
  return settings;
}

const permissionName = z.enum(PERMISSION_NAMES);
const page = z.object({
  defaultLimit: z.number().int().min(1).max(1000),
  maxLimit: z.number().int().min(1).max(1000),
});

/** The JSON-overridable part (env `CHAT_SETTINGS`); hooks and guards are set in code. */
export const chatSettingsJson = z
  .object({
    threadTypes: z.array(z.string().min(1)).min(1),
    defaultThreadType: z.string().min(1),
    listableThreadTypes: z.array(z.string().min(1)),
    messageTypes: z.array(z.string().min(1)).min(1),
    restrictedMessageTypes: z.record(z.string(), z.array(z.string())),
    pagination: z
      .object({ threads: page, messages: page, users: page })
      .partial()
      .transform((p) => ({ ...DATA_DEFAULTS.pagination, ...p })),
    permissionsDefault: z.array(permissionName),
    creatorPermissionsDefault: z.array(permissionName),
    notificationsDefault: z.array(z.enum(NOTIFICATION_NAMES)),
  })
  .partial()
  .strict();

export type ChatSettingsOverrides = Partial<
  Omit<ChatSettings, "pagination" | "routePermissions" | "attachmentTypes">
> & {
  pagination?: Partial<ChatSettings["pagination"]>;
  routePermissions?: Partial<Record<ThreadRoute, RouteGuard>>;
  attachmentTypes?: Record<string, AttachmentType>;
};

let codeOverrides: ChatSettingsOverrides = {};
const cache = new Map<string, ChatSettings>();

/**
 * App code changes settings here (filters, attachment types, route guards, types); later calls
 * merge into earlier ones. Returns a function that restores the previous overrides (tests).
 */
export function configureChatSettings(overrides: ChatSettingsOverrides): () => void {
  const previous = codeOverrides;
  codeOverrides = merge(previous, overrides);
  cache.clear();
  return () => {
    codeOverrides = previous;
    cache.clear();
  };
}

function merge(base: ChatSettingsOverrides, extra: ChatSettingsOverrides): ChatSettingsOverrides {
  return {
    ...base,
    ...extra,
    pagination: { ...base.pagination, ...extra.pagination },
    routePermissions: { ...base.routePermissions, ...extra.routePermissions },
    attachmentTypes: { ...base.attachmentTypes, ...extra.attachmentTypes },
  };
}

function envValue(env: Env, key: string): string | undefined {
  const value = (env as unknown as Record<string, unknown>)[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The effective settings: defaults, then env `CHAT_SETTINGS` (JSON) and `THREADS_BUS_DB`,
 * then code overrides. An invalid `CHAT_SETTINGS` is a configuration error and throws.
 */
export function chatSettings(env: Env): ChatSettings {
  const json = envValue(env, "CHAT_SETTINGS") ?? "";
  const busDb = envValue(env, "THREADS_BUS_DB") ?? "";
  const key = `${json}\u0000${busDb}`;
  const cached = cache.get(key);
  if (cached) return cached;

  const settings = defaults();
  const fromJson = json ? chatSettingsJson.parse(JSON.parse(json)) : {};
  const layers: ChatSettingsOverrides[] = [fromJson, busDb ? { busDb } : {}, codeOverrides];
  for (const layer of layers) {
    const { pagination, routePermissions, attachmentTypes, ...rest } = layer;
    Object.assign(settings, rest);
    settings.pagination = { ...settings.pagination, ...pagination };
    settings.routePermissions = { ...settings.routePermissions, ...routePermissions };
    settings.attachmentTypes = { ...settings.attachmentTypes, ...attachmentTypes };
  }
  cache.set(key, settings);
  return settings;
}
