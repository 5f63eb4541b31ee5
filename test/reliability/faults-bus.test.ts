import { abortAllDurableObjects } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { parseMessageId } from "../../src/features/bus/message-id";
import { ADMIN, call, tokenFor } from "../helpers/http";
import { type Frame, ResumingSocket } from "../helpers/reliability/resuming-socket";
import { figure, sized } from "../helpers/reliability/soak";

/**
 * Eviction of a bus namespace in the middle of a publish burst (contract §4): every publish
 * answered 201 is delivered exactly once, in publish order per channel, to a socket that resumes
 * with `last_message` and to a long-polling client that sends back the id it last received.
 */

const CHANNELS = ["burst.a", "burst.b", "burst.c"];
const PUBLISHERS = sized(8, 10);
const EACH = sized(15, 25);

const seqOf = (id: string) => parseMessageId(id)?.seq ?? Number.NaN;

afterEach(() => ResumingSocket.closeAll());

function lastMessageOf(frames: Frame[]): string {
  const last = frames.findLast((f) => f.event === "message");
  return last ? `&last_message=${last.data.message.message_id}` : "";
}

/** Ids per channel, in the order a client received them. */
function byChannel(list: { channel: string; id: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { channel, id } of list) out.set(channel, [...(out.get(channel) ?? []), id]);
  return out;
}

async function pollAll(db: string, token: string, start: string, until: number) {
  const got: { channel: string; id: string }[] = [];
  let last = start;
  while (got.length < until) {
    const res = await call("POST", `/${db}/bus?timeout=1`, {
      token,
      body: { last_message: last, channels: CHANNELS },
    });
    expect(res.status).toBe(200);
    expect(res.body.gap).toBeUndefined();
    if (!res.body.message) break;
    got.push({ channel: res.body.channel, id: res.body.message.message_id });
    last = res.body.message.message_id;
  }
  return got;
}

describe("faults: bus namespace evicted during a publish burst", () => {
  it("delivers every acknowledged publish exactly once, in order, after resuming", async () => {
    const db = `faults-${crypto.randomUUID().slice(0, 8)}`;
    const token = await tokenFor(`listener-${db}`, ["bus.listen:burst.*"]);
    const publish = (channel: string, message: Record<string, unknown>) =>
      call("POST", `/api/bus/${db}/publish`, { token: ADMIN, body: { channel, message } });
    const start = (await publish("burst.a", { type: "start" })).body.message_id as string;
    const socket = new ResumingSocket(
      (c) =>
        `/ws/bus/${db}?channels=${CHANNELS.join(",")}${lastMessageOf(c.received) || `&last_message=${start}`}`,
      token,
    );
    await socket.open();

    const acked: { channel: string; id: string }[] = [];
    let refused = 0;
    let evicted = false;
    const total = PUBLISHERS * EACH;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async (_, p) => {
        for (let n = 0; n < EACH; n++) {
          const channel = CHANNELS[(p + n) % CHANNELS.length] as string;
          const res = await publish(channel, { type: "burst", p, n });
          if (res.status === 201) acked.push({ channel, id: res.body.message_id });
          else refused++;
          if (!evicted && acked.length >= total / 2) {
            evicted = true;
            await abortAllDurableObjects();
          }
        }
      }),
    );
    expect(evicted).toBe(true);

    const published = byChannel([...acked].sort((a, b) => seqOf(a.id) - seqOf(b.id)));
    const deadline = Date.now() + 10_000;
    const live = () =>
      socket.received
        .filter((f) => f.event === "message" && f.data.message.type === "burst")
        .map((f) => ({
          channel: f.data.channel as string,
          id: f.data.message.message_id as string,
        }));
    while (live().length < acked.length && Date.now() < deadline) {
      await socket.open();
      await new Promise((r) => setTimeout(r, 20));
    }
    socket.close();
    expect(socket.connections).toBeGreaterThan(1);
    const polled = await pollAll(db, token, start, acked.length + refused);

    for (const [client, got] of [
      ["socket", live()],
      ["poll", polled],
    ] as const) {
      const ids = got.map((g) => g.id);
      expect(new Set(ids).size, `${client}: nothing twice`).toBe(ids.length);
      const received = byChannel(got);
      for (const channel of CHANNELS) {
        const seen = received.get(channel) ?? [];
        // In publish order, and every acknowledged message among them.
        expect(
          [...seen].sort((a, b) => seqOf(a) - seqOf(b)),
          `${client} ${channel}`,
        ).toEqual(seen);
        const missing = (published.get(channel) ?? []).filter((id) => !seen.includes(id));
        expect(missing, `${client} ${channel}: acknowledged but not delivered`).toEqual([]);
      }
    }

    figure("faults.bus.publishes_sent", total);
    figure("faults.bus.publishes_acknowledged", acked.length);
    figure("faults.bus.lost_or_duplicated", 0);
  });
});
