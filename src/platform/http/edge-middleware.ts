import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "../errors";

/** Request bodies over 1 MiB are refused before anything reads them. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized chunked body is read and dropped before the upload is cut off. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

function tooLarge(): ApiError {
  return new ApiError("payload_too_large", "Request bodies may not exceed 1 MiB", {
    body: [`at most ${MAX_BODY_BYTES} bytes`],
  });
}

/**
 * 413 by `Content-Length` at once, or while a body without one (chunked) streams in: a huge
 * body never reaches a parser, so it cannot take the isolate's memory.
 *
 * Not hono's `bodyLimit`: when it gives up on a chunked body half read, workerd answered every
 * other request 20–50 s late (measured under `wrangler dev`; cancelling the reader did not help).
 * So the rest of an oversized body is read and dropped, which costs no memory, up to
 * `MAX_DRAIN_BYTES`; only a larger one is cut off.
 */
export const limitBody = createMiddleware(async (c, next) => {
  const body = c.req.raw.body;
  if (!body) return next();
  const length = c.req.raw.headers.get("content-length");
  if (length !== null && !c.req.raw.headers.has("transfer-encoding")) {
    if (Number.parseInt(length, 10) > MAX_BODY_BYTES) throw tooLarge();
    return next();
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await drain(reader, size);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const buffer = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    buffer.set(chunk, offset);
    offset += chunk.byteLength;
  }
  c.req.raw = new Request(c.req.raw, { body: buffer });
  return next();
});

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, read: number) {
  let size = read;
  while (size <= MAX_DRAIN_BYTES) {
    const { done, value } = await reader.read();
    if (done) return;
    size += value.byteLength;
  }
  await reader.cancel("request body over 1 MiB");
}

/**
 * Headers of every answer the Worker renders: JSON (nosniff) and the HTML of `/docs`. The
 * policy is the one `public/_headers` gives the static pages: scripts and styles only from our
 * own files (nothing inline), never framed.
 */
export const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  // The API is called from any origin (token auth, CORS `*`); same-origin would contradict that.
  crossOriginResourcePolicy: false,
});
