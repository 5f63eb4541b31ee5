import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "../errors";

/** Request bodies over 1 MiB are refused before anything reads them. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * 413 by `Content-Length` at once, or while a body without one (chunked) streams in: a huge
 * body never reaches a parser, so it cannot take the isolate's memory.
 */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("payload_too_large", "Request bodies may not exceed 1 MiB", {
      body: [`at most ${MAX_BODY_BYTES} bytes`],
    });
  },
});

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
