import type { FieldErrors } from "../../platform/errors";
import { escapeHtml } from "../../platform/html";

/** An attachment as a client sends it (`POST /api/threads/:id/messages`, `attachments`). */
export interface AttachmentInput {
  type: string;
  title?: string;
  description?: string;
  url?: string;
  options?: Record<string, unknown>;
  object_type?: string;
  object_id?: string;
}

/** What is stored; `thumbnail` is computed once, before saving. */
export interface StoredAttachment {
  type: string;
  title: string;
  description: string;
  url: string | null;
  thumbnail: unknown;
  options: Record<string, unknown> | null;
  objectType: string | null;
  objectId: string | null;
}

/**
 * One attachment type (the chat API's validation / pre-save / thumbnail / src hooks).
 * `validate` answers field codes (`{"url": ["REQUIRED"]}`), or null when the input is fine.
 */
export interface AttachmentType {
  validate(input: AttachmentInput): FieldErrors | null;
  preSave?(attachment: StoredAttachment): StoredAttachment;
  thumbnail?(attachment: StoredAttachment): unknown;
  src?(attachment: StoredAttachment): string | null;
}

function httpUrl(value: string | undefined): URL | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}

function requireUrl(input: AttachmentInput): FieldErrors | null {
  if (!input.url) return { url: ["REQUIRED"] };
  return httpUrl(input.url) ? null : { url: ["WRONG_VALUE"] };
}

const YOUTUBE_HOSTS = new Set(["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"]);

/** The video id of a YouTube watch, embed, shorts or youtu.be URL; null for anything else. */
export function youtubeVideoId(value: string | undefined): string | null {
  const url = httpUrl(value);
  if (!url || !YOUTUBE_HOSTS.has(url.hostname)) return null;
  const id =
    url.hostname === "youtu.be"
      ? url.pathname.slice(1)
      : (url.searchParams.get("v") ??
        /^\/(?:embed|shorts|v)\/([^/]+)/.exec(url.pathname)?.[1] ??
        null);
  return id && /^[A-Za-z0-9_-]{6,20}$/.test(id) ? id : null;
}

const image: AttachmentType = {
  validate: requireUrl,
  thumbnail: (a) => {
    const explicit = httpUrl(String(a.options?.thumbnail_url ?? ""));
    return { url: explicit ? explicit.href : a.url };
  },
  src: (a) => a.url,
};

const youtube: AttachmentType = {
  validate: (input) => {
    if (!input.url) return { url: ["REQUIRED"] };
    return youtubeVideoId(input.url) ? null : { url: ["WRONG_VALUE"] };
  },
  preSave: (a) => ({
    ...a,
    options: { ...a.options, video_id: youtubeVideoId(a.url ?? undefined) },
  }),
  thumbnail: (a) => ({ url: `https://img.youtube.com/vi/${a.options?.video_id}/hqdefault.jpg` }),
  src: (a) => `https://www.youtube.com/embed/${a.options?.video_id}`,
};

const objectReference: AttachmentType = {
  validate: (input) => {
    const errors: FieldErrors = {};
    if (!input.object_type) errors.object_type = ["REQUIRED"];
    if (!input.object_id) errors.object_id = ["REQUIRED"];
    return Object.keys(errors).length ? errors : null;
  },
  src: () => null,
};

/** The built-in types; apps add theirs with `configureChatSettings({ attachmentTypes })`. */
export const BUILTIN_ATTACHMENT_TYPES: Record<string, AttachmentType> = {
  image,
  youtube,
  object_reference: objectReference,
};

/** Validates one attachment; field names are prefixed with `attachments.<index>.`. */
export function validateAttachment(
  types: Record<string, AttachmentType>,
  input: AttachmentInput,
  index: number,
): FieldErrors {
  const prefix = `attachments.${index}.`;
  const kind = Object.hasOwn(types, input.type) ? types[input.type] : undefined;
  if (!kind) return { [`${prefix}type`]: ["WRONG_VALUE"] };
  const errors = kind.validate(input) ?? {};
  return Object.fromEntries(Object.entries(errors).map(([f, codes]) => [prefix + f, codes]));
}

/** Runs pre-save and the thumbnail generator; text fields are HTML-escaped like message texts. */
export function prepareAttachment(
  types: Record<string, AttachmentType>,
  input: AttachmentInput,
): StoredAttachment {
  const kind = Object.hasOwn(types, input.type) ? types[input.type] : undefined;
  let stored: StoredAttachment = {
    type: input.type,
    title: escapeHtml(input.title ?? ""),
    description: escapeHtml(input.description ?? ""),
    url: input.url ?? null,
    thumbnail: null,
    options: input.options ?? null,
    objectType: input.object_type ?? null,
    objectId: input.object_id ?? null,
  };
  if (kind?.preSave) stored = kind.preSave(stored);
  if (kind?.thumbnail) stored = { ...stored, thumbnail: kind.thumbnail(stored) ?? null };
  return stored;
}

export function attachmentSrc(
  types: Record<string, AttachmentType>,
  attachment: StoredAttachment,
): string | null {
  const kind = Object.hasOwn(types, attachment.type) ? types[attachment.type] : undefined;
  return kind?.src ? kind.src(attachment) : attachment.url;
}
