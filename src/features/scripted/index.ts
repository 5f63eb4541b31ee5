/** The public entry of the scripted feature: other features import only this file (docs/ARCHITECTURE.md, "Layering"). */
import type { ThreadExtension } from "../threads";
import { scriptedHooks } from "./hooks";
import { scriptedRestarts } from "./restart-alarm";

/** Automated conversations as a thread extension; `src/rooms.ts` registers it. */
export const scriptedThreads: ThreadExtension = {
  hooks: scriptedHooks,
  restarts: scriptedRestarts,
};
