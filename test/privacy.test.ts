/**
 * A deleted message leaves nothing behind: not in quotes of replies, not in the room list's
 * last message, not in D1. An edit shows everywhere the message is quoted or listed.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import type { Room } from "../src/room/Room";
import { call, connect, createGroup, flush, partsOf, people, postAs, roomStubOf, type RoomView } from "./helpers";



async function history(roomId: string, user: string): Promise<Message[]> {
  return ((await (await call("GET", `/api/rooms/${roomId}/messages`, user)).json()) as { messages: Message[] }).messages;
}

async function listed(roomId: string, user: string): Promise<RoomView> {
  const { rooms } = (await (await call("GET", "/api/rooms", user)).json()) as { rooms: RoomView[] };
  return rooms.find((r) => r.id === roomId)!;
}

/** Every text column D1 holds for the room, as one string to search. */
async function d1Text(roomId: string): Promise<string> {
  const rows = await env.DB.prepare("SELECT * FROM messages WHERE room_id = ?").bind(roomId).all();
  const room = await env.DB.prepare("SELECT * FROM rooms WHERE id = ?").bind(roomId).all();
  return JSON.stringify([rows.results, room.results]);
}

describe("deleting a message", () => {
  it("scrubs its text from replies' quotes, history, sync, the room list and D1", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const secret = await postAs(room.id, a!, "my password is hunter2");
    const reply = await postAs(room.id, b!, "you should not post that", { replyTo: secret.id });
    expect(reply.replyTo).toMatchObject({ id: secret.id, excerpt: "my password is hunter2" });
    await flush(room.id);
    expect(await d1Text(room.id)).toContain("hunter2");
    const found = await call("GET", `/api/search?q=hunter2&roomId=${room.id}`, b!);
    expect(((await found.json()) as { results: unknown[] }).results).toHaveLength(1);

    const del = await call("DELETE", `/api/rooms/${room.id}/messages/${secret.id}`, a!);
    expect(del.status).toBe(200);
    const quoted = (await history(room.id, b!)).find((m) => m.id === reply.id)!;
    expect(quoted.replyTo).toEqual({ id: secret.id, author: { id: a, name: a }, excerpt: "", deleted: true });

    const { socket } = await connect(room.id, b!);
    socket.send({ type: "sync", after: 0 });
    const sync = await socket.next("sync");
    expect(JSON.stringify(sync.messages)).not.toContain("hunter2");
    socket.close();

    await flush(room.id);
    expect(await d1Text(room.id)).not.toContain("hunter2");
    expect(JSON.stringify(await listed(room.id, b!))).not.toContain("hunter2");
    const search = await call("GET", `/api/search?q=hunter2&roomId=${room.id}`, b!);
    expect(((await search.json()) as { results: unknown[] }).results).toEqual([]);
  });

  it("empties the room list's last message when the last message is deleted", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "oops, wrong room: hunter2");
    await flush(room.id);
    expect((await listed(room.id, b!)).lastMessage).toMatchObject({ id: m.id, text: "oops, wrong room: hunter2" });
    await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, a!);
    await flush(room.id);
    expect((await listed(room.id, b!)).lastMessage).toMatchObject({ id: m.id, text: "", deletedAt: expect.any(String) });
  });

  it("scrubs a message the room no longer holds, and quotes of it read from D1", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const secret = await postAs(room.id, a!, "old secret hunter2");
    const reply = await postAs(room.id, b!, "quoting it", { replyTo: secret.id });
    await flush(room.id);
    // Both rows leave the room: from now on they are read from D1.
    await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.prune(0));
    await postAs(room.id, b!, "something newer");

    expect((await call("DELETE", `/api/rooms/${room.id}/messages/${secret.id}`, a!)).status).toBe(200);
    // Before the flush, history already shows the change (the room's adopted copy wins).
    const before = await history(room.id, b!);
    expect(before.find((m) => m.id === secret.id)).toMatchObject({ text: "", deletedAt: expect.any(String) });
    expect(before.find((m) => m.id === reply.id)!.replyTo).toMatchObject({ excerpt: "", deleted: true });
    await flush(room.id);
    expect(await d1Text(room.id)).not.toContain("hunter2");
    const after = await history(room.id, b!);
    expect(after.find((m) => m.id === reply.id)!.replyTo).toMatchObject({ excerpt: "", deleted: true });
  });

  it("lets a moderator delete someone else's message, but not a plain member", async () => {
    const [admin, mod, member] = await people("admin", "mod", "member");
    const room = await createGroup(admin!, [mod!, member!]);
    expect((await call("PATCH", `/api/rooms/${room.id}/members/${mod}`, admin!, { role: "moderator" })).status).toBe(200);
    const m = await postAs(room.id, admin!, "delete me if you can");
    const refused = await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, member!);
    expect(refused.status).toBe(403);
    expect((await history(room.id, member!)).find((x) => x.id === m.id)!.text).toBe("delete me if you can");
    const done = await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, mod!);
    expect(done.status).toBe(200);
    expect(((await done.json()) as { message: Message }).message).toMatchObject({ seq: m.seq, text: "", deletedAt: expect.any(String) });
  });

  it("drops the message's reactions and tells every socket", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "react to this");
    expect((await call("PUT", `/api/rooms/${room.id}/messages/${m.id}/reactions/${encodeURIComponent("👍")}`, b!)).status).toBe(200);
    const { socket } = await connect(room.id, b!);
    await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, a!);
    const updated = await socket.next("updated", (f) => f.message.id === m.id);
    expect(updated.message).toMatchObject({ text: "", reactions: {}, attachments: [], deletedAt: expect.any(String) });
    socket.close();
  });
});

describe("editing a message", () => {
  it("shows the new text in replies' quotes and in the room list", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "meet at 5");
    const reply = await postAs(room.id, b!, "ok", { replyTo: m.id });
    await postAs(room.id, a!, "see you");
    const last = await postAs(room.id, a!, "bring snacks");
    await flush(room.id);
    const edited = await call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "meet at 6" });
    expect(edited.status).toBe(200);
    expect((await history(room.id, b!)).find((x) => x.id === reply.id)!.replyTo).toMatchObject({ excerpt: "meet at 6" });
    await call("PATCH", `/api/rooms/${room.id}/messages/${last.id}`, a!, { text: "bring drinks" });
    await flush(room.id);
    expect((await listed(room.id, b!)).lastMessage).toMatchObject({ text: "bring drinks", editedAt: expect.any(String) });
    const d1 = await env.DB.prepare("SELECT text FROM messages WHERE id = ?").bind(m.id).first<{ text: string }>();
    expect(d1!.text).toBe("meet at 6");
  });

  it("is open to the author for the edit window and closed just after it", async () => {
    const [a] = await people("a");
    const room = await createGroup(a!, [(await people("b"))[0]!]);
    const stub = roomStubOf(room.id);
    const window = 900_000;
    const [inside, outside] = await runInDurableObject(stub, (r: Room) => {
      const author = { id: a!, name: a! };
      const now = Date.now();
      return [
        partsOf(r).store.insert(room.id, { clientId: null, author, text: "recent", replyTo: null }, new Date(now - window + 60_000)),
        partsOf(r).store.insert(room.id, { clientId: null, author, text: "too old", replyTo: null }, new Date(now - window - 1_000)),
      ];
    });
    expect((await call("PATCH", `/api/rooms/${room.id}/messages/${inside.id}`, a!, { text: "recent, fixed" })).status).toBe(200);
    const late = await call("PATCH", `/api/rooms/${room.id}/messages/${outside.id}`, a!, { text: "too late" });
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    expect((await history(room.id, a!)).find((x) => x.id === outside.id)!.text).toBe("too old");
  });

  it("refuses everyone but the author", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, b!, "mine");
    expect((await call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "admin rewrite" })).status).toBe(403);
  });
});

describe("flushes in any order", () => {
  it("never let an older revision of a message replace a newer one in D1", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "version 1");
    const stub = roomStubOf(room.id);
    // Keep the first revision's rows as a flush would have read them, then let a newer one land.
    const stale = await runInDurableObject(stub, (r: Room) => partsOf(r).store.dirty(100));
    await call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "version 2" });
    await call("PUT", `/api/rooms/${room.id}/messages/${m.id}/reactions/${encodeURIComponent("🎉")}`, b!);
    await flush(room.id);
    // The delayed first flush arrives last.
    await runInDurableObject(stub, (r: Room) => partsOf(r).archive.write(room.id, stale, []));
    const row = await env.DB.prepare("SELECT text, reactions, rev FROM messages WHERE id = ?").bind(m.id).first();
    expect(row).toMatchObject({ text: "version 2", reactions: JSON.stringify({ "🎉": [b] }), rev: 3 });
  });
});
