import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import { MAX_DISTINCT_REACTIONS, isReactionEmoji } from "../src/room/reactions";
import { call, connect, createGroup, expectError, flush, people, postAs } from "./helpers";


const reactionPath = (roomId: string, id: string, emoji: string) =>
  `/api/rooms/${roomId}/messages/${id}/reactions/${encodeURIComponent(emoji)}`;

async function reactions(roomId: string, user: string, id: string) {
  const { messages } = (await (await call("GET", `/api/rooms/${roomId}/messages`, user)).json()) as { messages: Message[] };
  return messages.find((m) => m.id === id)!.reactions;
}

describe("reactions", () => {
  it("accept one emoji or a known :name:, and nothing else", () => {
    for (const ok of ["👍", "❤️", "👨‍👩‍👧", "🇫🇷", "👍🏽", "1️⃣", ":tada:", ":+1:"]) expect(isReactionEmoji(ok), ok).toBe(true);
    for (const bad of ["", "a", "👍👍", "👍 ", ":nope:", ":tada", "<b>", "1", "\u0000", "\ud83d"]) expect(isReactionEmoji(bad), bad).toBe(false);
  });

  it("reach every socket as `updated` from a react frame, and come off again", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "lunch?");
    const alice = await connect(room.id, a!);
    const bob = await connect(room.id, b!);
    bob.socket.send({ type: "react", id: m.id, emoji: "👍", on: true });
    const on = await alice.socket.next("updated", (f) => f.message.id === m.id);
    expect(on.message.reactions).toEqual({ "👍": [b] });
    bob.socket.send({ type: "react", id: m.id, emoji: "👍", on: false });
    const off = await alice.socket.next("updated", (f) => f.message.id === m.id);
    expect(off.message.reactions).toEqual({});
    alice.socket.close();
    bob.socket.close();
  });

  it("are idempotent: the same reaction twice changes and broadcasts nothing", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "vote");
    const { socket } = await connect(room.id, a!);
    for (let i = 0; i < 2; i++) expect((await call("PUT", reactionPath(room.id, m.id, ":tada:"), b!)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await call("DELETE", reactionPath(room.id, m.id, ":tada:"), b!)).status).toBe(200);
    // A frame after them proves the earlier ones have all arrived.
    await call("PUT", reactionPath(room.id, m.id, "🔥"), a!);
    await socket.next("updated", (f) => "🔥" in f.message.reactions);
    expect(socket.all("updated").length).toBe(3);
    socket.close();
  });

  it("are one per user per message: a new emoji replaces the user's earlier one", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "pick one");
    await call("PUT", reactionPath(room.id, m.id, "👍"), b!);
    await call("PUT", reactionPath(room.id, m.id, "👍"), a!);
    await call("PUT", reactionPath(room.id, m.id, "❤️"), b!);
    expect(await reactions(room.id, a!, m.id)).toEqual({ "👍": [a], "❤️": [b] });
    // Taking off an emoji one does not have changes nothing.
    await call("DELETE", reactionPath(room.id, m.id, "👍"), b!);
    expect(await reactions(room.id, a!, m.id)).toEqual({ "👍": [a], "❤️": [b] });
  });

  it("from two users at once both survive", async () => {
    const [a, b, c] = await people("a", "b", "c");
    const room = await createGroup(a!, [b!, c!]);
    const m = await postAs(room.id, a!, "race");
    const results = await Promise.all([
      call("PUT", reactionPath(room.id, m.id, "🎉"), b!),
      call("PUT", reactionPath(room.id, m.id, "🎉"), c!),
      call("PUT", reactionPath(room.id, m.id, "👀"), a!),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const final = await reactions(room.id, a!, m.id);
    expect(final["🎉"]!.sort()).toEqual([b, c].sort());
    expect(final["👀"]).toEqual([a]);
  });

  it("and an edit at the same moment both survive, in the room and in D1", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "draft");
    const results = await Promise.all([
      call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "final" }),
      call("PUT", reactionPath(room.id, m.id, "👍"), b!),
      call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "final, really" }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const { messages } = (await (await call("GET", `/api/rooms/${room.id}/messages`, b!)).json()) as { messages: Message[] };
    const held = messages.find((x) => x.id === m.id)!;
    expect(held.reactions).toEqual({ "👍": [b] });
    expect(["final", "final, really"]).toContain(held.text);
    await flush(room.id);
    const row = await env.DB.prepare("SELECT text, reactions FROM messages WHERE id = ?").bind(m.id).first();
    expect(row).toEqual({ text: held.text, reactions: JSON.stringify({ "👍": [b] }) });
  });

  it(`allow ${MAX_DISTINCT_REACTIONS} different emoji on a message and refuse one more`, async () => {
    const users = await people(...Array.from({ length: MAX_DISTINCT_REACTIONS + 2 }, (_, i) => `r${i}`));
    const room = await createGroup(users[0]!, users.slice(1));
    const m = await postAs(room.id, users[0]!, "so many feelings");
    const names = [":+1:", ":-1:", ":heart:", ":smile:", ":laughing:", ":joy:", ":tada:", ":clap:", ":fire:", ":eyes:", ":rocket:",
      ":100:", ":pray:", ":thinking:", ":ok_hand:", ":wave:", ":star:", ":sparkles:", ":muscle:", ":sob:", ":cry:"];
    for (let i = 0; i < MAX_DISTINCT_REACTIONS; i++) {
      expect((await call("PUT", reactionPath(room.id, m.id, names[i]!), users[i]!)).status).toBe(200);
    }
    await expectError(await call("PUT", reactionPath(room.id, m.id, names[MAX_DISTINCT_REACTIONS]!), users[MAX_DISTINCT_REACTIONS]!), 409, "conflict");
    // Joining an emoji already there is still fine.
    expect((await call("PUT", reactionPath(room.id, m.id, names[0]!), users[MAX_DISTINCT_REACTIONS + 1]!)).status).toBe(200);
    expect(Object.keys(await reactions(room.id, users[0]!, m.id))).toHaveLength(MAX_DISTINCT_REACTIONS);
  });

  it("refuse a bad emoji, an unknown message, a deleted message and non-members", async () => {
    const [a, b, outsider] = await people("a", "b", "outsider");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "hi");
    await expectError(await call("PUT", reactionPath(room.id, m.id, "lol"), b!), 400, "bad_request");
    await expectError(await call("PUT", reactionPath(room.id, m.id, "👍👍"), b!), 400, "bad_request");
    await expectError(await call("PUT", reactionPath(room.id, "no-such-message", "👍"), b!), 404, "not_found");
    await expectError(await call("PUT", reactionPath(room.id, m.id, "👍"), outsider!), 403, "forbidden");
    const { socket } = await connect(room.id, b!);
    socket.send({ type: "react", id: m.id, emoji: "not an emoji", on: true });
    expect(await socket.next("error")).toMatchObject({ code: "bad_request" });
    await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, a!);
    await expectError(await call("PUT", reactionPath(room.id, m.id, "👍"), b!), 409, "conflict");
    expect(await reactions(room.id, a!, m.id)).toEqual({});
    socket.close();
  });
});
