import { afterEach, describe, expect, it, vi } from "vitest";
import { log, logger, redact } from "../../src/platform/log";

/** Every line written through the console while `work` runs, as written. */
function linesOf(work: () => void): string[] {
  const lines: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
  }
  work();
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

const JWT =
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSIsInBlcm1pc3Npb25zIjpbXX0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const KEY = "sbk_Q2x1ZWxlc3NLZXlNYXRlcmlhbDEyMzQ1Njc4OTA";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("the logger", () => {
  it("writes one JSON object per line with the known fields", () => {
    const lines = linesOf(() => {
      logger.info("joined", { room: "PokerRoom:s1", event: "room.join", duration_ms: 12 });
      logger.warn("slow", { request_id: "r-1", status: 429, count: 3 });
      logger.error("broke", { event: "room.error", error: new TypeError("bad\nthing") });
    });
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.includes("\n")).toBe(false);
    const [info, warn, error] = lines.map((l) => JSON.parse(l));
    expect(info).toMatchObject({
      level: "info",
      message: "joined",
      room: "PokerRoom:s1",
      event: "room.join",
      duration_ms: 12,
      time: expect.stringMatching(/^\d{4}-/),
    });
    expect(warn).toMatchObject({ level: "warn", request_id: "r-1", status: 429, count: 3 });
    expect(error).toMatchObject({
      level: "error",
      error: { name: "TypeError", message: "bad\nthing" },
    });
  });

  it("redacts tokens, keys and secrets passed by mistake, in the message and the error", () => {
    const lines = linesOf(() => {
      log("error", `Authorization: Bearer ${JWT} from /ws/poker/s?token=${JWT}&since=3`, {
        request_id: `Token ${KEY}`,
        error: new Error(`target refused ${SECRET}; header Basic dXNlcjpwYXNzd29yZA==`),
      });
      logger.warn(`raw ${JWT} and ${KEY}`);
    });
    const text = lines.join("\n");
    for (const secret of [JWT, KEY, SECRET, "dXNlcjpwYXNzd29yZA=="]) {
      expect(text.includes(secret), secret).toBe(false);
    }
    for (const line of lines) JSON.parse(line);
    expect(JSON.parse(lines[0]!).message).toContain("since=3");
  });

  it("leaves out the bound values a failed query's error carries, in its message and stack", () => {
    const failed = new Error(
      'Failed query: insert into "messages" ("text") values (?)\nparams: my secret diary',
    );
    const lines = linesOf(() => logger.error("Unhandled error", { error: failed }));
    expect(lines.join("\n")).not.toContain("my secret diary");
    expect(JSON.parse(lines[0]!).error.message).toBe(
      'Failed query: insert into "messages" ("text") values (?)\nparams: [redacted]',
    );
  });

  it("writes no field outside its list: a body passed along is dropped", () => {
    const body = { text: "a private chat message", password: "hunter2" };
    const lines = linesOf(() =>
      logger.info("posted", { event: "thread.post", ...({ body } as object) }),
    );
    expect(lines[0]).not.toContain("private chat message");
    expect(lines[0]).not.toContain("hunter2");
  });

  it("cuts a huge message so a line stays small", () => {
    expect(redact("x".repeat(10_000)).length).toBeLessThan(2_100);
  });
});
