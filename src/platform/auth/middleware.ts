import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { forbidden, unauthorized } from "../errors";
import { ANONYMOUS, type Caller, resolveCaller } from "./caller";
import { hasPermission } from "./permissions";
import { enforceRateLimit } from "./rate-limit";

/** Resolves the caller once per request and counts the call; every route reads `c.var.caller`. */
export const resolveCallerMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  let caller: Caller;
  try {
    caller = await resolveCaller(c.req.raw, c.env);
  } catch (err) {
    // A bad credential counts as an anonymous call, so guessing tokens is limited too.
    await enforceRateLimit(c.env, c.req.raw, ANONYMOUS);
    throw err;
  }
  await enforceRateLimit(c.env, c.req.raw, caller);
  c.set("caller", caller);
  await next();
});

/** Any admin or valid client token. */
export const requireCaller = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.caller.kind === "anonymous") throw unauthorized();
  await next();
});

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  assertAdmin(c.var.caller);
  await next();
});

/** Admin or a client token holding `permission`. */
export const requirePermission = (permission: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    assertPermission(c.var.caller, permission);
    await next();
  });

export function assertAdmin(caller: Caller): void {
  if (caller.kind === "anonymous") throw unauthorized();
  if (caller.kind !== "admin") throw forbidden("This call needs the admin token");
}

/** `permission`, granted everywhere or for the resource named by the route's `param`. */
export const requirePermissionFor = (permission: string, param: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    assertPermission(c.var.caller, permission, c.req.param(param));
    await next();
  });

export function assertPermission(caller: Caller, permission: string, resource?: string): void {
  if (caller.kind === "anonymous") throw unauthorized();
  if (!hasPermission(caller, permission, resource)) {
    throw forbidden(`This call needs the '${permission}' permission`);
  }
}
