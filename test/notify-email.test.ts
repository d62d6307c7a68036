/**
 * Email as a channel, end to end through the outbox provider (the local default): the instant
 * email after a notification, its rules, and the daily digest from the cron.
 */
import { createExecutionContext, createScheduledController, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { signToken, verifyToken } from "../src/lib/jwt";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { handle } from "../src/notify/consumer";
import { DIGEST_CRON } from "../src/notify/mail";
import { BASE, call, createGroup, people, postAs } from "./helpers";
import { dispatch, outbox, userSocket, waitForNotification } from "./notify-helpers";


/** Signs in once with an `email` claim, as an identity provider's token would carry it. */
async function withAddress(userId: string): Promise<string> {
  const address = `${userId}@example.com`;
  const token = await signToken({ sub: userId, name: userId, kind: "member", email: address, exp: Math.floor(Date.now() / 1000) + 3600 }, DEV_JWT_SECRET);
  const res = await SELF.fetch(`${BASE}/api/notifications`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return address;
}

async function direct(a: string, b: string): Promise<string> {
  const res = await call("POST", "/api/rooms/direct", a, { userId: b });
  return ((await res.json()) as { room: { id: string } }).room.id;
}

/** What the queue hands over a minute after the notification. */
const instant = (notificationId: string, userId: string) => handle(env, { kind: "email", notificationId, userId });

describe("instant email", () => {
  it("sends the notification once, with its unsubscribe link, and then at most one per room per 10 minutes", async () => {
    const [a, b] = await people("ima", "imb");
    const address = await withAddress(b!);
    const roomId = await direct(a!, b!);
    await postAs(roomId, a!, "are you there?");
    await dispatch(roomId);
    const first = await waitForNotification(b!, (n) => n.body === "are you there?");
    await instant(first.id, b!);
    await instant(first.id, b!);
    let emails = await outbox(address);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ id: first.id, subject: a });
    expect(emails[0]!.text).toContain("are you there?");
    expect(emails[0]!.text).toContain(`/#${roomId}`);
    expect(emails[0]!.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");

    await postAs(roomId, a!, "hello??");
    await dispatch(roomId);
    const second = await waitForNotification(b!, (n) => n.body === "hello??");
    await instant(second.id, b!);
    emails = await outbox(address);
    expect(emails).toHaveLength(1);
  });

  it("is not sent for a read notification, to someone connected, to someone without an address, or when email is off", async () => {
    const [a, reader, online, noAddress, off] = await people("imx", "imr", "imo", "imn", "imf");
    const addresses = await Promise.all([reader!, online!, off!].map(withAddress));
    const group = await createGroup(a!, [reader!, online!, noAddress!, off!], "Mail rules");
    expect((await call("PUT", "/api/notifications/preferences", off!, { email: "off" })).status).toBe(200);
    await userSocket(online!);
    await postAs(group.id, a!, `@${reader} @${online} @${noAddress} @${off} ping`);
    await dispatch(group.id);
    const read = await waitForNotification(reader!, (n) => n.kind === "mention");
    expect((await call("POST", `/api/notifications/${read.id}/read`, reader!)).status).toBe(204);
    for (const user of [reader!, online!, noAddress!, off!]) {
      const n = await waitForNotification(user, (n) => n.kind === "mention");
      await instant(n.id, user);
    }
    for (const address of addresses) expect(await outbox(address)).toEqual([]);
  });
});

describe("the daily digest", () => {
  it("groups what is unread by room, once a day, for users who chose it", async () => {
    const [a, b, instantUser] = await people("dga", "dgb", "dgi");
    const address = await withAddress(b!);
    const instantAddress = await withAddress(instantUser!);
    expect((await call("PUT", "/api/notifications/preferences", b!, { email: "daily" })).status).toBe(200);
    const dm = await direct(a!, b!);
    const group = await createGroup(a!, [b!, instantUser!], "Digest group");
    await postAs(dm, a!, "first direct");
    await postAs(dm, a!, "second direct");
    await postAs(group.id, a!, `@${b} see the plan`);
    await Promise.all([dispatch(dm), dispatch(group.id)]);
    await waitForNotification(b!, (n) => n.body === "second direct");
    await waitForNotification(b!, (n) => n.kind === "mention");

    const run = async () => {
      const ctx = createExecutionContext();
      worker.scheduled(createScheduledController({ cron: DIGEST_CRON, scheduledTime: Date.now() }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    await run();
    await expect.poll(async () => (await outbox(address)).length, { timeout: 10_000 }).toBe(1);
    const [digest] = await outbox(address);
    expect(digest!.subject).toBe("4 unread notifications from the last day");
    expect(digest!.text).toMatch(/Direct messages: .*\(2\)\n- .*: first direct\n- .*: second direct/);
    expect(digest!.text).toMatch(/Digest group \(2\)/);
    expect(digest!.text).toContain("see the plan");

    await run();
    await new Promise((r) => setTimeout(r, 2500));
    expect(await outbox(address)).toHaveLength(1);
    expect(await outbox(instantAddress)).toEqual([]);
  });
});


describe("the email claim", () => {
  it("is kept when it is an address and ignored otherwise, and a later token without it keeps the address", async () => {
    const sign = (email: unknown) =>
      signToken({ sub: "mail-claim", name: "M", kind: "member", email, exp: Math.floor(Date.now() / 1000) + 60 } as never, DEV_JWT_SECRET);
    expect((await verifyToken(await sign("m@example.com"), { secret: DEV_JWT_SECRET, jwksUrl: null })).email).toBe("m@example.com");
    for (const bad of ["not an address", "a@b", "<a@b.c>", 42, "x".repeat(250) + "@b.co"]) {
      expect((await verifyToken(await sign(bad), { secret: DEV_JWT_SECRET, jwksUrl: null })).email).toBeUndefined();
    }
    const [u] = await people("mclaim");
    await withAddress(u!);
    expect((await call("GET", "/api/notifications", u!)).status).toBe(200);
    expect((await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(u).first<{ email: string }>())!.email).toBe(`${u}@example.com`);
  });
});
