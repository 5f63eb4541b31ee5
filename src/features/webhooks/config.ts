import { z } from "zod";

/** A hook's `config`, as dj-whisperer's: only basic auth is understood today. */
export const HookConfigSchema = z.strictObject({
  auth: z
    .strictObject({
      auth_type: z.literal("basic"),
      username: z.string().min(1).max(200),
      password: z.string().max(500),
    })
    .optional(),
});

export type HookConfig = z.infer<typeof HookConfigSchema>;

export function parseStoredConfig(json: string): HookConfig {
  return HookConfigSchema.parse(JSON.parse(json));
}

export function basicAuthOf(config: HookConfig): { username: string; password: string } | null {
  return config.auth ? { username: config.auth.username, password: config.auth.password } : null;
}
