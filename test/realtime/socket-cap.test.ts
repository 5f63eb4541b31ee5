import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { maxSocketsPerUser } from "../../src/realtime/socket-credential";
import { newDb } from "../helpers/bus";
import { ADMIN, expectErrorShape, tokenFor } from "../helpers/http";
import { connect, type TestSocket, tryConnect } from "../helpers/ws";

/**
 * One user may hold at most `MAX_SOCKETS_PER_USER` sockets in one room; the next upgrade is a
 * 429 before the upgrade. The room reads the variable when it accepts a socket, so a test lowers
 * it for one room object instead of opening a hundred sockets.
 */

const CAP = 3;

/** Lowers the cap seen by one room object (its own `env`; other rooms keep the configured one). */
async function capRoom(stub: DurableObjectStub, cap: number): Promise<void> {
  await runInDurableObject(stub, (instance: unknown) => {
    const room = instance as { env: Env };
    room.env = { ...room.env, MAX_SOCKETS_PER_USER: String(cap) };
  });
}

const testRoom = (id: string) => env.TEST_ROOM.get(env.TEST_ROOM.idFromName(id));

async function openMany(path: string, token: string, count: number): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (let i = 0; i < count; i++) sockets.push(await connect(path, token));
  return sockets;
}

describe("sockets per user and room", () => {
  it("production allows 100 sockets per user and room, also when the variable is unset", () => {
    expect(env.MAX_SOCKETS_PER_USER).toBe("100");
    expect(maxSocketsPerUser(env)).toBe(100);
    expect(maxSocketsPerUser({ ...env, MAX_SOCKETS_PER_USER: undefined } as unknown as Env)).toBe(
      100,
    );
  });

  it("refuses the user's next upgrade with 429 in the error shape; other users and rooms are not affected", async () => {
    const id = crypto.randomUUID();
    await capRoom(testRoom(id), CAP);
    const user = `many-${crypto.randomUUID().slice(0, 8)}`;
    const token = await tokenFor(user);
    const open = await openMany(`/ws/test/${id}`, token, CAP);

    const refused = await tryConnect(`/ws/test/${id}`, token);
    expect(refused).toBeInstanceOf(Response);
    const res = refused as Response;
    expect(res.status).toBe(429);
    const body = await res.json<any>();
    expectErrorShape(body);
    expect(body.error.code).toBe("rate_limited");

    // Another user in the same room, and the same user in another room, still connect.
    const other = await connect(`/ws/test/${id}`, await tokenFor(`other-${user}`));
    const elsewhere = await connect(`/ws/test/${crypto.randomUUID()}`, token);
    // A closed socket frees its place.
    open[0]!.close();
    await open[0]!.waitClosed();
    const again = await connect(`/ws/test/${id}`, token);
    for (const ws of [...open, other, elsewhere, again]) ws.close();
  });

  it("counts a user's sockets in a bus room too, with ten channels (the runtime's tag limit)", async () => {
    const db = newDb();
    await capRoom(env.BUS_CHANNEL.get(env.BUS_CHANNEL.idFromName(db)), 2);
    const token = await tokenFor(`bus-${crypto.randomUUID().slice(0, 8)}`, ["bus.listen:*"]);
    // With the user's own channel, ten: the socket's channel tags must leave one for the user.
    const channels = Array.from({ length: 9 }, (_, i) => `c${i}`).join(",");
    const path = `/ws/bus/${db}?channels=${channels}`;
    const open = await openMany(path, token, 2);
    expect(((await tryConnect(path, token)) as Response).status).toBe(429);
    for (const ws of open) ws.close();
  });

  it("does not cap admin sockets", async () => {
    const id = crypto.randomUUID();
    await capRoom(testRoom(id), 1);
    const open = await openMany(`/ws/test/${id}`, ADMIN, 3);
    for (const ws of open) ws.close();
  });
});
