import { createExecutionContext, createMessageBatch, env, evictDurableObject, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { consumeEvents } from "../src/notify/consumer";
import type { EventMessage } from "../src/notify/events";
import { connect, createGroup, call, expectError, people, postAs, roomStubOf, sendAndAck, tokenFor, uniqueId, api } from "./helpers";
import { asAdmin, eventually } from "./admin-helpers";
import { dispatch, feedOf, openUserSocket, settle, userSocket, waitForNotification } from "./notify-helpers";

async function direct(a: string, b: string): Promise<string> {
  const res = await call("POST", "/api/rooms/direct", a, { userId: b });
  expect(res.status).toBeLessThan(300);
  return ((await res.json()) as { room: { id: string } }).room.id;
}

describe("the user socket", () => {
  it("opens only for the caller's own id", async () => {
    const [a, b] = await people("usa", "usb");
    expect((await openUserSocket(a!, b!)).status).toBe(403);
    const anonymous = await api(`/parties/user/${a}`, { headers: { upgrade: "websocket" } });
    expect(anonymous.status).toBe(401);
    expect((await openUserSocket(a!)).status).toBe(101);
  });

  it("closes the oldest device with 4008 when an eleventh opens", async () => {
    const [a] = await people("ucap");
    const devices = [];
    for (let i = 0; i < 10; i++) devices.push(await userSocket(a!));
    const eleventh = await userSocket(a!);
    const closed = await devices[0]!.waitClosed();
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/more than 10/);
    expect(devices[1]!.closed).toBeNull();
    expect(eleventh.closed).toBeNull();
  });

  it("answers a malformed frame with an error and stays open", async () => {
    const [a] = await people("ubad");
    const socket = await userSocket(a!);
    socket.send({ type: "send", text: "hi" });
    const error = await socket.next("error");
    expect(error.code).toBe("bad_request");
    expect(socket.closed).toBeNull();
  });
});

describe("what notifies", () => {
  it("a direct message notifies the other person on both of their devices, never its author", async () => {
    const [a, b] = await people("dma", "dmb");
    const roomId = await direct(a!, b!);
    const phone = await userSocket(b!);
    const laptop = await userSocket(b!);
    const message = await postAs(roomId, a!, "lunch at noon?");
    await dispatch(roomId);
    const [onPhone, onLaptop] = await Promise.all([phone.next("notification"), laptop.next("notification")]);
    expect(onPhone.notification).toMatchObject({ kind: "dm", roomId, messageId: message.id, title: a, body: "lunch at noon?", readAt: null });
    expect(onLaptop.notification.id).toBe(onPhone.notification.id);
    expect((await feedOf(b!)).notifications.map((n) => n.id)).toEqual([onPhone.notification.id]);
    expect((await feedOf(a!)).notifications).toEqual([]);
  });

  it("a mention by display name notifies that member; a mention of a non-member notifies no one", async () => {
    const [a, b, c, outsider] = await people("mna", "mnb", "mnc", "mnout");
    const group = await createGroup(a!, [b!, c!], "Planning");
    await postAs(group.id, a!, `hey @${b} and @${outsider}, see this`);
    await dispatch(group.id);
    const n = await waitForNotification(b!, (n) => n.kind === "mention");
    expect(n).toMatchObject({ roomId: group.id, title: `${a} mentioned you in Planning` });
    await settle();
    expect((await feedOf(outsider!)).notifications).toEqual([]);
    expect((await feedOf(c!)).notifications.filter((n) => n.kind !== "added")).toEqual([]);
  });

  it("a reply notifies the author of the message it answers", async () => {
    const [a, b] = await people("rpa", "rpb");
    const group = await createGroup(a!, [b!], "Replies");
    const first = await postAs(group.id, a!, "who has the keys?");
    await postAs(group.id, b!, "I do", { replyTo: first.id });
    await dispatch(group.id);
    const n = await waitForNotification(a!, (n) => n.kind === "reply");
    expect(n).toMatchObject({ title: `${b} replied to you in Replies`, body: "I do" });
  });

  it("being added to a group notifies the person added", async () => {
    const [a, b, c] = await people("ada", "adb", "adc");
    const group = await createGroup(a!, [b!], "Crew");
    const res = await call("POST", `/api/rooms/${group.id}/members`, a!, { userId: c });
    expect(res.status).toBeLessThan(300);
    await dispatch(group.id);
    expect(await waitForNotification(c!, (n) => n.kind === "added")).toMatchObject({ roomId: group.id, title: "You were added to Crew", body: `${a} added you` });
    expect(await waitForNotification(b!, (n) => n.kind === "added")).toMatchObject({ roomId: group.id });
  });

  it("a visitor writing notifies the staff", async () => {
    const res = await api("/api/auth/visitor", { method: "POST", json: { name: "Guest" }, headers: { "cf-connecting-ip": `10.9.${Math.floor(Math.random() * 250)}.1` } });
    const { token, roomId } = (await res.json()) as { token: string; roomId: string };
    const sent = await api(`/api/rooms/${roomId}/messages`, { method: "POST", token, json: { clientId: "v1", text: "hello, is anyone there?" } });
    expect(sent.status).toBe(201);
    await dispatch(roomId);
    const n = await waitForNotification("staff1", (n) => n.roomId === roomId);
    expect(n).toMatchObject({ kind: "visitor", title: "Guest (website visitor)", body: "hello, is anyone there?" });
    expect((await waitForNotification("staff2", (n) => n.roomId === roomId)).kind).toBe("visitor");
  });

  it("nobody is notified of a room they are looking at, unless their socket there is away", async () => {
    const [a, b, c] = await people("vwa", "vwb", "vwc");
    const group = await createGroup(a!, [b!, c!], "Watch");
    const { socket: watching } = await connect(group.id, b!);
    const { socket: away } = await connect(group.id, c!);
    away.send({ type: "presence", status: "away" });
    await watching.next("presence", (f) => f.userId === c && f.status === "away");
    await sendAndAck(watching, "warmup");
    const { socket: author } = await connect(group.id, a!);
    await sendAndAck(author, `@${b} @${c} look`);
    await dispatch(group.id);
    await waitForNotification(c!, (n) => n.kind === "mention");
    await settle(1000);
    expect((await feedOf(b!)).notifications.filter((n) => n.kind === "mention")).toEqual([]);
  });
});

describe("the feed", () => {
  it("pages newest first, marks read and deletes only the owner's notifications", async () => {
    const [a, b, other] = await people("fda", "fdb", "fdo");
    const roomId = await direct(a!, b!);
    for (const text of ["one", "two", "three"]) await postAs(roomId, a!, text);
    await dispatch(roomId);
    await waitForNotification(b!, (n) => n.body === "three");
    const first = await feedOf(b!, "?limit=2");
    expect(first.notifications.map((n) => n.body)).toEqual(["three", "two"]);
    const second = await feedOf(b!, `?limit=2&before=${first.nextBefore}`);
    expect(second.notifications.map((n) => n.body)).toEqual(["one"]);
    expect(second.nextBefore).toBeNull();

    const target = first.notifications[0]!;
    await expectError(await call("POST", `/api/notifications/${target.id}/read`, other!), 404, "not_found");
    await expectError(await call("DELETE", `/api/notifications/${target.id}`, other!), 404, "not_found");
    expect((await call("POST", `/api/notifications/${target.id}/read`, b!)).status).toBe(204);
    expect((await feedOf(b!)).notifications.find((n) => n.id === target.id)!.readAt).not.toBeNull();
    expect((await call("DELETE", `/api/notifications/${target.id}`, b!)).status).toBe(204);
    expect((await feedOf(b!)).notifications.map((n) => n.body)).toEqual(["two", "one"]);
    await expectError(await call("DELETE", `/api/notifications/${target.id}`, b!), 404, "not_found");
  });

  it("refuses bad paging and malformed ids with 400, and strangers' tokens with 401", async () => {
    const [a] = await people("fbad");
    await expectError(await call("GET", "/api/notifications?limit=0", a!), 400, "bad_request");
    await expectError(await call("GET", "/api/notifications?limit=101", a!), 400, "bad_request");
    expect((await call("GET", "/api/notifications?limit=100", a!)).status).toBe(200);
    await expectError(await call("GET", "/api/notifications?before=x", a!), 400, "bad_request");
    await expectError(await call("POST", "/api/notifications/nope/read", a!), 400, "bad_request");
    await expectError(await call("GET", "/api/notifications", null), 401, "unauthorized");
  });
});

describe("delivery", () => {
  it("a room evicted between storing a message and enqueueing it still notifies, once", async () => {
    const [a, b] = await people("eva", "evb");
    const roomId = await direct(a!, b!);
    const device = await userSocket(b!);
    await postAs(roomId, a!, "survives eviction");
    await evictDurableObject(roomStubOf(roomId));
    await dispatch(roomId);
    await dispatch(roomId);
    await device.next("notification");
    await settle();
    expect((await feedOf(b!)).notifications.filter((n) => n.body === "survives eviction")).toHaveLength(1);
    expect(device.all("notification")).toHaveLength(1);
  });

  it("a batch handed over twice writes and shows each notification once", async () => {
    const [a, b] = await people("twa", "twb");
    const device = await userSocket(b!);
    const body: EventMessage = {
      kind: "room",
      roomId: uniqueId("dup"),
      event: { id: `evt_${uniqueId("dup")}`, type: "message.created", createdAt: new Date().toISOString(), data: {} },
      messageId: "m-1",
      notify: [{ userId: b!, kind: "dm", title: a!, body: "twice" }],
    };
    for (let round = 0; round < 2; round++) {
      const batch = createMessageBatch<EventMessage>("edge-chat-events-staging", [{ id: `m${round}`, timestamp: new Date(), attempts: 1, body }]);
      const ctx = createExecutionContext();
      await consumeEvents(batch, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual([`m${round}`]);
    }
    await device.next("notification");
    await settle(500);
    expect(device.all("notification")).toHaveLength(1);
    expect((await feedOf(b!)).notifications.filter((n) => n.body === "twice")).toHaveLength(1);
  });
});

describe("broadcasts", () => {
  it("reach the listed users, admins only", async () => {
    const [x, y, z] = await people("bcx", "bcy", "bcz");
    const title = `Maintenance ${uniqueId("t")}`;
    await expectError(await call("POST", "/api/admin/notifications", x!, { title, body: "tonight" }), 403, "forbidden");
    const admin = await tokenFor("root", "Root", "member", ["admin"]);
    await expectError(await api("/api/admin/notifications", { method: "POST", token: admin, json: { title: "", body: "x" } }), 400, "bad_request");
    const res = await api("/api/admin/notifications", { method: "POST", token: admin, json: { title, body: "tonight", userIds: [x, y] } });
    expect(res.status).toBe(202);
    await waitForNotification(x!, (n) => n.title === title);
    await waitForNotification(y!, (n) => n.kind === "broadcast" && n.title === title);
    await settle(1000);
    expect((await feedOf(z!)).notifications.filter((n) => n.title === title)).toEqual([]);
  });
});

describe("unread counts", () => {
  it("reach a connected device when a message arrives, and drop when the user reads", async () => {
    const [a, b] = await people("ura", "urb");
    const group = await createGroup(a!, [b!], "Counts");
    const device = await userSocket(b!);
    await device.until(() => device.all("unread").some((f) => f.roomId === group.id) || undefined, "initial unread");
    await new Promise((r) => setTimeout(r, 300));
    const m = await postAs(group.id, a!, "count me");
    const up = await device.next("unread", (f) => f.roomId === group.id && f.count === 1);
    expect(up.count).toBe(1);
    const res = await call("POST", `/api/rooms/${group.id}/read`, b!, { seq: m.seq });
    expect(res.status).toBeLessThan(300);
    await device.next("unread", (f) => f.roomId === group.id && f.count === 0);
  });
});

describe("unread counts in a direct room started while connected", () => {
  it("arrive from its first message on, starting with the count then", async () => {
    const [a, b] = await people("dua", "dub");
    const device = await userSocket(b!);
    const roomId = await direct(a!, b!);
    await postAs(roomId, a!, "hello, new room");
    await dispatch(roomId);
    await device.next("notification", (f) => f.notification.kind === "dm" && f.notification.roomId === roomId);
    await device.next("unread", (f) => f.roomId === roomId && f.count === 1);
    await postAs(roomId, a!, "and again");
    await device.next("unread", (f) => f.roomId === roomId && f.count === 2);
  });
});

describe("presence", () => {
  it("is online while a room socket is open and offline with lastSeen after, for people who share a room", async () => {
    const [a, b] = await people("pra", "prb");
    const group = await createGroup(a!, [b!], "Here");
    const { socket } = await connect(group.id, b!);
    const look = async (who: string, ids: string) => (await (await call("GET", `/api/presence?userIds=${ids}`, who)).json()) as { users: { id: string; status: string; lastSeen: string | null }[] };
    await expect.poll(async () => (await look(a!, b!)).users[0]?.status, { timeout: 5000 }).toBe("online");
    socket.ws.close(1000, "bye");
    await expect.poll(async () => (await look(a!, b!)).users[0]?.status, { timeout: 5000 }).toBe("offline");
    expect((await look(a!, b!)).users[0]!.lastSeen).not.toBeNull();
    const visitor = await tokenFor("v-pres", "Guest", "visitor");
    const asVisitor = await api(`/api/presence?userIds=${b}`, { token: visitor });
    expect(((await asVisitor.json()) as { users: unknown[] }).users).toEqual([]);
  });

  it("answers up to 100 users and refuses 101", async () => {
    const [a] = await people("prl");
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`).join(",");
    expect((await call("GET", `/api/presence?userIds=${ids(100)}`, a!)).status).toBe(200);
    await expectError(await call("GET", `/api/presence?userIds=${ids(101)}`, a!), 400, "bad_request");
    await expectError(await call("GET", `/api/presence?userIds=bad!id`, a!), 400, "bad_request");
  });
});

describe("erasure", () => {
  it("removes the user's notifications and those quoting them, push subscriptions, preferences, presence and address", async () => {
    const [a, b] = await people("era", "erb");
    const roomId = await direct(a!, b!);
    await postAs(roomId, a!, "to be forgotten");
    await postAs(roomId, b!, "my words, quoted in a's feed");
    await dispatch(roomId);
    await waitForNotification(b!, (n) => n.body === "to be forgotten");
    await waitForNotification(a!, (n) => n.body === "my words, quoted in a's feed");
    await env.DB.prepare("UPDATE users SET email = 'erb@example.com' WHERE id = ?").bind(b).run();
    const keys = { p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", auth: "tBHItJI5svbpez7KI4CCXg" };
    const sub = await call("POST", "/api/push/subscriptions", b!, { endpoint: `https://push.test/${b}`, expirationTime: null, keys });
    expect(sub.status).toBe(201);
    expect((await call("PUT", "/api/notifications/preferences", b!, { email: "daily" })).status).toBe(200);
    const { socket } = await connect(roomId, b!);
    await expect.poll(async () => (await env.DB.prepare("SELECT status FROM presence WHERE user_id = ?").bind(b).first<{ status: string }>())?.status).toBe("online");
    socket.ws.close(1000, "bye");
    await expect.poll(async () => (await env.DB.prepare("SELECT status FROM presence WHERE user_id = ?").bind(b).first<{ status: string }>())?.status).toBe("offline");

    const started = await asAdmin("POST", `/api/admin/users/${b}/erase`);
    expect(started.status).toBe(202);
    await eventually(async () => {
      const res = await asAdmin("GET", `/api/admin/users/${b}/erase`);
      return ((await res.json()) as { erasure: { status: string } }).erasure.status === "done";
    }, "the erasure");
    const count = async (table: string) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`).bind(b).first<{ n: number }>())!.n;
    expect(await count("notifications")).toBe(0);
    expect(await count("push_subscriptions")).toBe(0);
    expect(await count("notification_preferences")).toBe(0);
    expect(await count("presence")).toBe(0);
    expect((await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(b).first<{ email: string | null }>())!.email).toBeNull();
    expect((await feedOf(a!)).notifications.filter((n) => n.body === "my words, quoted in a's feed")).toEqual([]);
  });
});

describe("preferences at work", () => {
  it("a muted room notifies nobody who muted it, and a room joined while connected reports unread counts", async () => {
    const [a, b, c] = await people("mua", "mub", "muc");
    const device = await userSocket(c!);
    const group = await createGroup(a!, [b!, c!], "Muted");
    expect((await call("PUT", "/api/notifications/preferences", b!, { mutedRooms: [group.id] })).status).toBe(200);
    await dispatch(group.id);
    await device.next("notification", (f) => f.notification.kind === "added" && f.notification.roomId === group.id);
    await new Promise((r) => setTimeout(r, 300));
    await postAs(group.id, a!, `@${b} @${c} quiet please`);
    await dispatch(group.id);
    await waitForNotification(c!, (n) => n.kind === "mention");
    await device.next("unread", (f) => f.roomId === group.id && f.count >= 1);
    await settle(1000);
    expect((await feedOf(b!)).notifications.filter((n) => n.roomId === group.id)).toEqual([]);
  });
});

describe("presence across sockets", () => {
  it("is away when every socket says so, and online again when one does not", async () => {
    const [a, b] = await people("paw", "pbw");
    const group = await createGroup(a!, [b!], "Away");
    const status = async () =>
      ((await (await call("GET", `/api/presence?userIds=${b}`, a!)).json()) as { users: { status: string }[] }).users[0]?.status;
    const { socket: room } = await connect(group.id, b!);
    const device = await userSocket(b!);
    await expect.poll(status, { timeout: 5000 }).toBe("online");
    room.send({ type: "presence", status: "away" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await status()).toBe("online");
    device.send({ type: "presence", status: "away" });
    await expect.poll(status, { timeout: 5000 }).toBe("away");
    device.send({ type: "presence", status: "online" });
    await expect.poll(status, { timeout: 5000 }).toBe("online");
  });
});

describe("changes before the event leaves", () => {
  it("a message deleted before its event left notifies nobody; one edited still notifies, with what was sent", async () => {
    const [a, b] = await people("cba", "cbb");
    const roomId = await direct(a!, b!);
    const gone = await postAs(roomId, a!, "oops, wrong person");
    expect((await call("DELETE", `/api/rooms/${roomId}/messages/${gone.id}`, a!)).status).toBe(200);
    const kept = await postAs(roomId, a!, "see you at 5");
    expect((await call("PATCH", `/api/rooms/${roomId}/messages/${kept.id}`, a!, { text: "see you at 6" })).status).toBe(200);
    await dispatch(roomId);
    const n = await waitForNotification(b!, (n) => n.messageId === kept.id);
    expect(n.body).toBe("see you at 5");
    await settle(1000);
    expect((await feedOf(b!)).notifications.filter((n) => n.messageId === gone.id)).toEqual([]);
  });
});
