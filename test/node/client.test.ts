/// <reference types="node" />
/**
 * The published client (`edge-chat/client`, imported by its name through package.json
 * "exports", as an app would) against a real `wrangler dev`: sends that show as pending and are
 * replaced by the server's copy, a connection dropped in the middle of a burst (everything
 * arrives once, in order, on every socket), a rate-limited burst, the outbox outliving its
 * client, paging, typing, reads, presence, changes, uploads and downloads, search, the user
 * socket, notifications, preferences, push subscriptions, leaving with a successor and the
 * administration routes. The server runs with a send budget of SEND_BUDGET a minute per user,
 * so each test speaks as its own users.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import {
  ChatClient,
  ChatError,
  devLogin,
  isPendingMessage,
  isRateLimited,
  memoryOutboxStore,
  type Ack,
  type ChatClientOptions,
  type Message,
  type Notification,
  type OutboxStore,
  type RoomConnection,
  type TimelineEntry,
  type UploadProgress,
} from "edge-chat/client";
import { queryD1, sleep, startDevServer, type DevServer } from "../../scripts/dev-server";
import { startProxy, type TcpProxy } from "./tcp-proxy";

const SEND_BUDGET = 40;
const WAIT = { timeout: 20_000, interval: 50 };

let server: DevServer;
/** A member for groups that need one besides the person under test. */
let bystander: string;
const proxies: TcpProxy[] = [];
const opened: { close(): void }[] = [];

beforeAll(async () => {
  server = await startDevServer({ vars: { RATE_SENDS: `${SEND_BUDGET}/1m` } });
  bystander = (await devLogin(server.url, "bystander", "Bystander")).user.id;
});

afterAll(async () => {
  for (const c of opened) c.close();
  for (const p of proxies) await p.close();
  await server?.stop();
});

let people = 0;
/** A user of this test alone (its own send budget), signed in with dev auth. */
async function person(name: string, options: Partial<ChatClientOptions> = {}) {
  const id = `${name.toLowerCase()}-${Date.now().toString(36)}-${people++}`;
  const session = await devLogin(server.url, id, name);
  const client = new ChatClient({ baseUrl: server.url, token: session.token, WebSocket: WebSocket as never, ...options });
  return { id, name, token: session.token, client };
}

async function proxy(): Promise<TcpProxy> {
  const p = await startProxy(server.url);
  proxies.push(p);
  return p;
}

/** Opens a room socket (closed after the tests) and records every message it delivers. */
async function join(client: ChatClient, roomId: string) {
  const room = client.room(roomId);
  opened.push(room);
  const delivered: Message[] = [];
  room.on("message", (m) => delivered.push(m));
  await expect.poll(() => room.state, WAIT).toBe("open");
  return { room, delivered };
}

/** Each message once, with seq growing by one: the stream a room socket promises. */
function expectGapFree(messages: Message[]): void {
  const seqs = messages.map((m) => m.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
}

/** Every message of a room, oldest first, over REST. */
async function everything(client: ChatClient, roomId: string): Promise<Message[]> {
  const all: Message[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await client.history(roomId, { before, limit: 100 });
    all.unshift(...page.messages);
    if (page.nextBefore === null) return all;
    before = page.nextBefore;
  }
}

const textsOf = (entries: TimelineEntry[]) => entries.map((e) => e.text);

describe("edge-chat/client", () => {
  test("a send shows at once as pending and is replaced by the server's copy, never shown twice", async () => {
    const alice = await person("Alice");
    const bob = await person("Bob");
    const { room: group } = await alice.client.createGroup("Pending", [bob.id]);
    const { room } = await join(alice.client, group.id);
    const { delivered: bobSees } = await join(bob.client, group.id);

    const pendingEvents: string[] = [];
    room.on("pending", (p) => pendingEvents.push(p.clientId));
    const sent = room.send("hello, pending world", { clientId: "c-pending-1" });
    const shown = room.messages().at(-1)!;
    expect(isPendingMessage(shown)).toBe(true);
    expect(shown).toMatchObject({ pending: true, clientId: "c-pending-1", text: "hello, pending world" });
    expect(pendingEvents).toEqual(["c-pending-1"]);
    expect(room.isPending("c-pending-1")).toBe(true);

    const ack = await sent;
    await expect.poll(() => room.messages().filter((e) => e.clientId === "c-pending-1" && !isPendingMessage(e)).length, WAIT).toBe(1);
    expect(room.messages().filter((e) => e.clientId === "c-pending-1")).toHaveLength(1);
    expect(room.isPending("c-pending-1")).toBe(false);
    expect(room.pending()).toEqual([]);
    await expect.poll(() => bobSees.map((m) => m.id), WAIT).toEqual([ack.id]);

    // The same clientId again is the same message: same ack, nothing new stored.
    const again = await room.send("hello, pending world", { clientId: "c-pending-1" });
    expect(again).toMatchObject({ id: ack.id, seq: ack.seq });
    expect((await everything(alice.client, group.id)).map((m) => m.id)).toEqual([ack.id]);
  });

  test("a connection dropped in the middle of a burst of sends delivers everything exactly once, in order", async () => {
    const net = await proxy();
    let tokens = 0;
    const alice = await person("Alice");
    const bob = await person("Bob");
    const aliceVia = new ChatClient({ baseUrl: net.url, getToken: () => (tokens++, alice.token), WebSocket: WebSocket as never });
    const { room: group } = await alice.client.createGroup("Burst", [bob.id]);
    const { room, delivered: aliceSees } = await join(aliceVia, group.id);
    const { room: bobRoom, delivered: bobSees } = await join(bob.client, group.id);
    const states: string[] = [];
    room.on("state", (s) => states.push(s));
    const connectsBefore = net.accepted;

    const sends: Promise<Ack>[] = [];
    const burst = Array.from({ length: 30 }, (_, i) => `burst ${i + 1}`);
    for (const [i, text] of burst.entries()) {
      sends.push(room.send(text));
      if (i === 9) {
        // Mid-burst: every connection through the proxy dies, and new ones are refused for a while.
        net.down = true;
        net.cut();
      }
      if (i === 19) {
        // While Alice is away, Bob talks: her catch-up must bring these too.
        for (const t of ["while you were out 1", "while you were out 2", "while you were out 3"]) await bobRoom.send(t);
        net.down = false;
      }
      await sleep(15);
    }
    const acks = await Promise.all(sends);

    expect(states).toContain("reconnecting");
    expect(net.accepted).toBeGreaterThan(connectsBefore);
    expect(tokens).toBeGreaterThanOrEqual(2);
    // Acks in send order, with seq growing: nothing reordered by the resends.
    const ackSeqs = acks.map((a) => a.seq);
    expect(ackSeqs).toEqual([...ackSeqs].sort((a, b) => a - b));
    expect(new Set(acks.map((a) => a.id)).size).toBe(burst.length);

    const stored = await everything(bob.client, group.id);
    expectGapFree(stored);
    const storedBurst = stored.filter((m) => m.author.id === alice.id);
    expect(storedBurst.map((m) => m.text)).toEqual(burst);
    expect(storedBurst.map((m) => m.id)).toEqual(acks.map((a) => a.id));
    expect(stored.filter((m) => m.author.id === bob.id)).toHaveLength(3);

    // Both sockets saw the whole room once, in order: Alice's through her drop.
    const last = stored.at(-1)!.seq;
    await expect.poll(() => room.lastContiguousSeq, WAIT).toBe(last);
    await expect.poll(() => bobRoom.lastContiguousSeq, WAIT).toBe(last);
    for (const seen of [aliceSees, bobSees]) {
      expectGapFree(seen);
      expect(seen.map((m) => m.id)).toEqual(stored.map((m) => m.id));
    }
    // Her list shows each message once, none of them still pending.
    expect(textsOf(room.messages())).toEqual(stored.map((m) => m.text));
    expect(room.messages().some(isPendingMessage)).toBe(false);
  });

  test("a rate-limited burst rejects the refused sends with a typed error carrying retryAfter, and loses nothing acked", async () => {
    const carol = await person("Carol");
    const { room: group } = await carol.client.createGroup("Flood", [bystander]);
    const { room, delivered } = await join(carol.client, group.id);
    const failed: string[] = [];
    room.on("failed", (p, err) => failed.push(`${p.text}: ${err.code}`));

    const texts = Array.from({ length: SEND_BUDGET + 10 }, (_, i) => `flood ${i + 1}`);
    const outcomes = await Promise.allSettled(texts.map((t) => room.send(t)));

    const acked = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ text: texts[i]!, ack: o.value }] : []));
    const refused = outcomes.flatMap((o, i) => (o.status === "rejected" ? [{ text: texts[i]!, err: o.reason as unknown }] : []));
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.length).toBeLessThanOrEqual(SEND_BUDGET);
    expect(refused.length).toBeGreaterThanOrEqual(texts.length - SEND_BUDGET);
    for (const { err } of refused) {
      expect(err).toBeInstanceOf(ChatError);
      expect(isRateLimited(err)).toBe(true);
      expect((err as ChatError).retryAfter).toBeGreaterThan(0);
    }
    expect(failed).toEqual(refused.map((r) => `${r.text}: rate_limited`));

    // Everything acked is stored, once, in the order sent; nothing refused is.
    const stored = await everything(carol.client, group.id);
    expect(stored.map((m) => m.id)).toEqual(acked.map((a) => a.ack.id));
    expect(stored.map((m) => m.text)).toEqual(acked.map((a) => a.text));
    await expect.poll(() => delivered.length, WAIT).toBe(stored.length);
    // The refused ones stay in the list, marked, until retried or discarded; the outbox is empty.
    expect(room.pending()).toEqual([]);
    const marked = room.messages().filter(isPendingMessage);
    expect(marked.map((p) => [p.text, p.error?.code])).toEqual(refused.map((r) => [r.text, "rate_limited"]));
    room.discard(marked[0]!.clientId);
    expect(room.messages().filter(isPendingMessage)).toHaveLength(marked.length - 1);
  });

  test("the outbox outlives its client: sends made while the server is unreachable go out from the stored outbox with a new client", async () => {
    const net = await proxy();
    net.down = true;
    const dana = await person("Dana");
    const { room: group } = await dana.client.createGroup("Outbox", [bystander]);
    const keys = new Set<string>();
    const memory = memoryOutboxStore();
    const store: OutboxStore = {
      load: (key) => (keys.add(key), memory.load(key)),
      update: (key, change) => (keys.add(key), memory.update(key, change)),
    };

    const first = new ChatClient({ baseUrl: net.url, token: dana.token, WebSocket: WebSocket as never, outbox: store });
    const offline = first.room(group.id);
    const texts = ["written offline 1", "written offline 2", "written offline 3"];
    const outcomes = texts.map((t) => offline.send(t).catch((err: unknown) => err));
    expect(offline.messages().map((e) => [e.text, isPendingMessage(e)])).toEqual(texts.map((t) => [t, true]));
    await offline.outboxSaved();
    offline.close();
    for (const outcome of await Promise.all(outcomes)) expect(outcome).toMatchObject({ code: "closed" });

    // As after a page reload: a new client, the same store, the server reachable again.
    net.down = false;
    const second = new ChatClient({ baseUrl: net.url, token: dana.token, WebSocket: WebSocket as never, outbox: store });
    const restored: string[] = [];
    const room = second.room(group.id);
    opened.push(room);
    room.on("pending", (p) => restored.push(p.text));
    await expect.poll(() => room.state, WAIT).toBe("open");
    await expect.poll(() => room.pending().length, WAIT).toBe(0);
    expect(restored).toEqual(texts);

    const stored = await everything(dana.client, group.id);
    expect(stored.map((m) => m.text)).toEqual(texts);
    await expect.poll(() => textsOf(room.messages()), WAIT).toEqual(texts);
    await room.outboxSaved();
    expect(keys.size).toBe(1);
    expect(await store.load([...keys][0]!)).toEqual([]);
  });

  test("older history loads page by page into the list until the start of the room", async () => {
    const erin = await person("Erin");
    const finn = await person("Finn");
    const { room: group } = await erin.client.createGroup("History", [finn.id]);
    const texts = Array.from({ length: 62 }, (_, i) => `note ${i + 1}`);
    for (const [i, text] of texts.entries()) await (i % 2 ? finn : erin).client.postMessage(group.id, { text });

    const { room } = await join(erin.client, group.id);
    await expect.poll(() => room.messages().length, WAIT).toBe(50);
    expect(room.hasOlder).toBe(true);
    const older: Message[][] = [];
    room.on("older", (page) => older.push(page));
    expect((await room.loadOlder(5)).map((m) => m.text)).toEqual(texts.slice(7, 12));
    expect((await room.loadOlder(50)).map((m) => m.text)).toEqual(texts.slice(0, 7));
    expect(room.hasOlder).toBe(false);
    expect(await room.loadOlder()).toEqual([]);
    expect(older).toHaveLength(2);
    expect(textsOf(room.messages())).toEqual(texts);
  });

  test("typing shows to the others on the first keystroke and stops on send and on blur", async () => {
    const gina = await person("Gina");
    const hal = await person("Hal");
    const { room: group } = await gina.client.createGroup("Typing", [hal.id]);
    const { room } = await join(gina.client, group.id);
    const { room: halRoom } = await join(hal.client, group.id);
    const seen: boolean[] = [];
    halRoom.on("typing", (f) => f.userId === gina.id && seen.push(f.on));

    for (const text of ["h", "he", "hel", "hello"]) room.typingIndicator.input(text);
    await expect.poll(() => seen, WAIT).toEqual([true]);
    expect(halRoom.typingUsers()).toEqual([{ id: gina.id, name: "Gina" }]);
    await room.send("hello");
    await expect.poll(() => seen, WAIT).toEqual([true, false]);
    room.typingIndicator.input("another thought");
    await expect.poll(() => seen, WAIT).toEqual([true, false, true]);
    room.typingIndicator.blur();
    await expect.poll(() => seen, WAIT).toEqual([true, false, true, false]);
    expect(halRoom.typingUsers()).toEqual([]);
  });

  test("reads, presence, reactions, edits and deletes go through the room socket and show in the list", async () => {
    const ivy = await person("Ivy");
    const jon = await person("Jon");
    const { room: group } = await ivy.client.createGroup("Changes", [jon.id]);
    const { room } = await join(ivy.client, group.id);
    const { room: jonRoom } = await join(jon.client, group.id);
    await expect.poll(() => room.onlineUsers().map((u) => u.id).sort(), WAIT).toEqual([ivy.id, jon.id].sort());
    expect(room.onlineCount).toBe(2);

    const question = await room.send("is the build green?");
    const replyAck = await jonRoom.send("it is", { replyTo: question.id });
    await expect.poll(() => room.lastContiguousSeq, WAIT).toBe(replyAck.seq);

    const reads: number[] = [];
    jonRoom.on("read", (f) => f.userId === ivy.id && reads.push(f.seq));
    room.markAllRead();
    await expect.poll(() => reads, WAIT).toEqual([replyAck.seq]);

    const statuses: string[] = [];
    jonRoom.on("presence", (f) => f.userId === ivy.id && statuses.push(f.status));
    room.setStatus("away");
    await expect.poll(() => statuses, WAIT).toEqual(["away"]);
    expect(jonRoom.onlineUsers().find((u) => u.id === ivy.id)?.status).toBe("away");

    const byId = (r: RoomConnection, id: string) => r.messages().find((e): e is Message => !isPendingMessage(e) && e.id === id);
    await room.react(replyAck.id, "👍");
    await expect.poll(() => byId(jonRoom, replyAck.id)?.reactions, WAIT).toEqual({ "👍": [ivy.id] });
    await room.edit(question.id, "is the build green now?");
    await expect.poll(() => byId(jonRoom, question.id)?.text, WAIT).toBe("is the build green now?");
    // The reply's quote follows the edit, then the delete.
    await expect.poll(() => byId(jonRoom, replyAck.id)?.replyTo?.excerpt, WAIT).toBe("is the build green now?");
    await room.delete(question.id);
    await expect.poll(() => byId(jonRoom, question.id)?.deletedAt, WAIT).not.toBeNull();
    expect(byId(jonRoom, replyAck.id)?.replyTo).toMatchObject({ excerpt: "", deleted: true });

    // Over REST as well, with the changed message as the answer.
    expect((await ivy.client.setReaction(group.id, replyAck.id, "👍", false)).reactions).toEqual({});
    await ivy.client.markRead(group.id, replyAck.seq);
    expect((await jon.client.readers(group.id, replyAck.id)).readBy.map((u) => u.id)).toEqual([ivy.id]);
  });

  test("a room the user may not enter ends the connection with forbidden instead of retrying", async () => {
    const kim = await person("Kim");
    const mallory = await person("Mallory");
    const { room: group } = await kim.client.createGroup("Private", [bystander]);
    const room = mallory.client.room(group.id);
    opened.push(room);
    const errors: string[] = [];
    room.on("error", (f) => errors.push(f.code));
    const sent = room.send("let me in").catch((err: unknown) => err);
    await expect.poll(() => room.state, WAIT).toBe("closed");
    expect(errors).toEqual(["forbidden"]);
    expect(await sent).toMatchObject({ code: "forbidden" });
  });

  test("getToken is asked before every connect, for a ticket or for the URL itself", async () => {
    const lee = await person("Lee");
    const { room: group } = await lee.client.createGroup("Tokens", [bystander]);
    for (const socketAuth of ["ticket", "token"] as const) {
      let asked = 0;
      const client = new ChatClient({ baseUrl: server.url, getToken: async () => (asked++, lee.token), socketAuth, WebSocket: WebSocket as never });
      const { room } = await join(client, group.id);
      let welcomes = 0;
      room.on("welcome", (_, reconnect) => reconnect && welcomes++);
      const before = asked;
      room.reconnect();
      await expect.poll(() => welcomes, WAIT).toBe(1);
      expect(asked).toBeGreaterThan(before);
      expect((await room.send(`via ${socketAuth}`)).seq).toBeGreaterThan(0);
      room.close();
    }
  });

  test("uploads report progress and their attachment goes out with a send", async () => {
    const max = await person("Max");
    const { room: group } = await max.client.createGroup("Files", [bystander]);
    const { room } = await join(max.client, group.id);
    const progress: UploadProgress[] = [];
    const body = "meeting notes\n".repeat(100);
    const file = new Blob([body], { type: "text/plain" });
    const attachment = await max.client.upload(group.id, file, "notes.txt", { onProgress: (p) => progress.push(p) });
    expect(attachment).toMatchObject({ name: "notes.txt", size: file.size, mimeType: "text/plain" });
    expect(progress.at(0)).toEqual({ loaded: 0, total: file.size });
    expect(progress.at(-1)).toEqual({ loaded: file.size, total: file.size });

    const ack = await room.send("", { attachments: [attachment.id] });
    await expect.poll(() => room.lastContiguousSeq, WAIT).toBe(ack.seq);
    const sent = room.messages().find((e) => !isPendingMessage(e) && e.id === ack.id) as Message;
    expect(sent.attachments.map((a) => a.id)).toEqual([attachment.id]);
    expect(await (await max.client.file(attachment.url)).text()).toBe(body);

    const refused = await max.client.upload(group.id, new Blob(["\u0000\u0001binary"], { type: "text/plain" }), "x.txt").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatError);
    expect((refused as ChatError).status).toBeGreaterThanOrEqual(400);
  });

  test("the user socket brings notifications and unread counts, and the feed, preferences and push subscriptions work over REST", async () => {
    const nia = await person("Nia");
    const oz = await person("Oz");
    const ozUser = oz.client.user();
    opened.push(ozUser);
    const notifications: Notification[] = [];
    const unread: [string, number][] = [];
    ozUser.on("notification", (n) => notifications.push(n));
    ozUser.on("unread", (f) => unread.push([f.roomId, f.count]));
    await expect.poll(() => ozUser.state, WAIT).toBe("open");

    const { room: direct } = await nia.client.directRoom(oz.id);
    const message = await nia.client.postMessage(direct.id, { text: "ping from Nia" });
    await expect.poll(() => notifications.map((n) => [n.kind, n.roomId, n.messageId]), WAIT).toEqual([["dm", direct.id, message.id]]);
    await expect.poll(() => ozUser.unread.get(direct.id), WAIT).toBe(1);
    expect(unread.at(-1)).toEqual([direct.id, 1]);
    expect(ozUser.totalUnread).toBe(1);

    const feed = await oz.client.notifications({ limit: 10 });
    expect(feed.notifications.map((n) => n.id)).toEqual([notifications[0]!.id]);
    await oz.client.markNotificationRead(notifications[0]!.id);
    expect((await oz.client.notifications()).notifications[0]?.readAt).not.toBeNull();
    await oz.client.deleteNotification(notifications[0]!.id);
    expect((await oz.client.notifications()).notifications).toEqual([]);

    // Reading the room zeroes its count on every device.
    await oz.client.markRead(direct.id, message.seq);
    await expect.poll(() => ozUser.unread.get(direct.id), WAIT).toBe(0);

    expect(await oz.client.notificationPreferences()).toEqual({ inApp: true, email: "instant", push: true, mutedRooms: [] });
    expect(await oz.client.setNotificationPreferences({ email: "daily", mutedRooms: [direct.id] })).toEqual({
      inApp: true,
      email: "daily",
      push: true,
      mutedRooms: [direct.id],
    });

    expect(await oz.client.pushPublicKey()).toMatch(/^[A-Za-z0-9_-]{87}$/);
    const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
    const p256dh = Buffer.from((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer).toString("base64url");
    const endpoint = `https://push.example.test/send/${oz.id}`;
    const subscribed = () => queryD1<{ endpoint: string }>(server.persistDir, `SELECT endpoint FROM push_subscriptions WHERE user_id = '${oz.id}'`);
    await oz.client.registerPushSubscription({ endpoint, expirationTime: null, keys: { p256dh, auth: Buffer.alloc(16, 7).toString("base64url") } });
    expect((await subscribed()).map((r) => r.endpoint)).toEqual([endpoint]);
    await oz.client.unregisterPushSubscription(endpoint);
    expect(await subscribed()).toEqual([]);
  });

  test("search, presence, room details and the room list answer through the client", async () => {
    const pia = await person("Pia");
    const quin = await person("Quin");
    const { room: group } = await pia.client.createGroup("Searchable", [quin.id]);
    const { room } = await join(pia.client, group.id);
    const word = `zebracorn${Date.now().toString(36)}`;
    const ack = await room.send(`the ${word} has landed`);
    await expect.poll(async () => (await quin.client.search(word)).results.map((r) => r.message.id), WAIT).toEqual([ack.id]);

    expect((await quin.client.presence([pia.id])).users).toMatchObject([{ id: pia.id, status: "online" }]);
    expect((await quin.client.roomPresence(group.id)).online.map((u) => u.id)).toEqual([pia.id]);
    expect((await quin.client.roomDetails(group.id)).members.map((m) => m.id).sort()).toEqual([pia.id, quin.id].sort());
    expect((await quin.client.rooms()).rooms.map((r) => r.id)).toContain(group.id);
    const denied = await quin.client.roomDetails("no-such-room-here").catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ChatError);
    expect((denied as ChatError).code).toMatch(/^(forbidden|not_found)$/);
  });

  test("the last admin leaves a group only by naming a successor, and admins reach stats, webhooks and broadcasts", async () => {
    const rae = await person("Rae");
    const sol = await person("Sol");
    const { room: group } = await rae.client.createGroup("Handover", [sol.id]);
    const refused = await rae.client.removeMember(group.id, rae.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatError);
    expect((refused as ChatError).code).toBe("conflict");
    await rae.client.removeMember(group.id, rae.id, { successor: sol.id });
    expect((await sol.client.roomDetails(group.id)).members).toEqual([{ id: sol.id, name: "Sol", role: "admin" }]);

    const forbidden = await sol.client.adminStats().catch((e: unknown) => e);
    expect((forbidden as ChatError).code).toBe("forbidden");
    const session = await devLogin(server.url, `ada-${Date.now().toString(36)}`, "Ada", ["admin"]);
    const admin = new ChatClient({ baseUrl: server.url, token: session.token });
    const stats = await admin.adminStats();
    expect(Object.keys(stats).sort()).toEqual(["activeRooms", "connectedClients", "messagesLastHour", "onlineUsers", "rooms", "typingUsers"]);
    expect(stats.rooms).toBeGreaterThan(0);

    const { webhook } = await admin.createWebhook("http://127.0.0.1:9/hooks/chat", ["member.added"]);
    expect(webhook.secret).toMatch(/^whsec_/);
    expect((await admin.webhooks()).webhooks.map((h) => [h.id, h.events])).toContainEqual([webhook.id, ["member.added"]]);
    await admin.deleteWebhook(webhook.id);
    expect((await admin.webhooks()).webhooks.map((h) => h.id)).not.toContain(webhook.id);

    expect(await admin.broadcast("Maintenance", "Tonight at 22:00", [sol.id])).toMatchObject({ broadcast: { recipients: 1 } });
    await expect.poll(async () => (await sol.client.notifications()).notifications.map((n) => [n.kind, n.title]), WAIT).toContainEqual(["broadcast", "Maintenance"]);
  });
});
