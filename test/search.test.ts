import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import { api, ensureUsers, newClientId, tokenFor, uniqueId, uniqueRoom } from "./helpers";

type Result = { message: Message; snippet: string };
type Page = { results: Result[]; nextBefore: string | null };

/** A word no other test (and no other message) contains, so every test owns its hits. */
const word = () => `w${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;

/** Fresh member ids for one test, registered in D1. */
async function people(...names: string[]) {
  const ids = names.map((n) => uniqueId(n));
  await ensureUsers(ids);
  return ids;
}

const seqs = new Map<string, number>();

interface Row {
  id?: string;
  /** Defaults to the room's next seq in this file; rooms shared with other files need their own. */
  seq?: number;
  text: string;
  author?: string;
  replyToId?: string | null;
  createdAt?: string;
  editedAt?: string | null;
  deletedAt?: string | null;
}

/**
 * Writes rows the way a room's flush does: one upsert by id over a JSON list, so the index
 * triggers see exactly what a flush makes them see. Returns the ids.
 */
async function upsert(roomId: string, rows: Row[]): Promise<string[]> {
  const list = rows.map((r) => {
    const id = r.id ?? crypto.randomUUID();
    const seq = r.seq ?? (r.id ? 0 : (seqs.get(roomId) ?? 0) + 1);
    if (!r.id && r.seq === undefined) seqs.set(roomId, seq);
    return [id, seq, r.author ?? "alice", r.text, r.replyToId ?? null, r.createdAt ?? new Date().toISOString(), r.editedAt ?? null, r.deletedAt ?? null];
  });
  await env.DB.prepare(
    `INSERT INTO messages (id, room_id, seq, client_id, author_id, author_name, text, reply_to_id, created_at, edited_at, deleted_at, reactions, attachments, rev)
     SELECT r ->> 0, ?1, r ->> 1, NULL, r ->> 2, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7, NULL, NULL, 1
     FROM (SELECT value AS r FROM json_each(?2)) WHERE true
     ON CONFLICT (id) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at, rev = rev + 1`,
  )
    .bind(roomId, JSON.stringify(list))
    .run();
  return list.map((r) => r[0] as string);
}

async function search(user: string, params: Record<string, string>, kind: "member" | "visitor" = "member") {
  return api(`/api/search?${new URLSearchParams(params)}`, { token: await tokenFor(user, user, kind) });
}

async function found(user: string, params: Record<string, string>): Promise<Page> {
  const res = await search(user, params);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
}

/** Throws if the index disagrees with the rows it indexes. */
async function checkIndex() {
  await env.DB.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();
}

describe("search", () => {
  it("finds a message by a word in it, with the message in the contract's shape", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = await uniqueRoom("s", [alice!, bob!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `shipping the ${w} today`, author: bob }]);
    await upsert(room, [{ text: "nothing to see here" }]);
    const page = await found(alice!, { q: w });
    expect(page.results).toHaveLength(1);
    expect(page.results[0]!.message).toMatchObject({ id, roomId: room, seq: 1, text: `shipping the ${w} today`, author: { id: bob }, deletedAt: null });
    expect(page.nextBefore).toBeNull();
  });

  it("ranks the better match first, whatever its age", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [better] = await upsert(room, [{ text: `${w} ${w} ${w}`, createdAt: "2020-01-01T00:00:00.000Z" }]);
    const [worse] = await upsert(room, [{ text: `one ${w} among a good many other words that say very little at all` }]);
    const page = await found(alice!, { q: w });
    expect(page.results.map((r) => r.message.id)).toEqual([better, worse]);
  });

  it("marks the hit in the snippet and escapes everything else as HTML", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    await upsert(room, [{ text: `<script>alert("x")</script> & ${w.toUpperCase()} it's <b>bold</b>` }]);
    const [hit] = (await found(alice!, { q: w })).results;
    expect(hit!.snippet).toBe(`&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>${w.toUpperCase()}</mark> it&#39;s &lt;b&gt;bold&lt;/b&gt;`);
    expect(hit!.snippet.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]/);
  });

  it("shortens long messages in the snippet around the hit", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const filler = Array.from({ length: 40 }, (_, i) => `filler${i}`).join(" ");
    await upsert(room, [{ text: `${filler} ${w} ${filler}` }]);
    const [hit] = (await found(alice!, { q: w })).results;
    expect(hit!.snippet).toContain(`<mark>${w}</mark>`);
    expect(hit!.snippet).toContain("…");
    expect(hit!.snippet.length).toBeLessThan(200);
  });

  it("never returns messages of rooms the caller is not in", async () => {
    const [alice, bob, carol] = await people("alice", "bob", "carol");
    const mine = await uniqueRoom("s", [alice!, bob!]);
    const theirs = await uniqueRoom("s", [bob!, carol!]);
    const w = word();
    const [own] = await upsert(mine, [{ text: `${w} in my room` }]);
    await upsert(theirs, [{ text: `${w} ${w} in a room I am not in` }]);
    const page = await found(alice!, { q: w });
    expect(page.results.map((r) => r.message.id)).toEqual([own]);
    expect((await found(carol!, { q: w })).results.map((r) => r.message.roomId)).toEqual([theirs]);
  });

  it("stops finding a room's messages for someone removed from it", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = await uniqueRoom("s", [alice!, bob!]);
    const w = word();
    await upsert(room, [{ text: `${w} before bob left` }]);
    expect((await found(bob!, { q: w })).results).toHaveLength(1);
    const res = await api(`/api/rooms/${room}/members/${bob}`, { method: "DELETE", token: await tokenFor(alice!) });
    expect(res.status).toBe(204);
    expect((await found(bob!, { q: w })).results).toEqual([]);
  });

  it("keeps to one room when given roomId", async () => {
    const [alice] = await people("alice");
    const one = await uniqueRoom("s", [alice!]);
    const other = await uniqueRoom("s", [alice!]);
    const w = word();
    await upsert(one, [{ text: `${w} here` }]);
    await upsert(other, [{ text: `${w} there` }]);
    expect((await found(alice!, { q: w })).results).toHaveLength(2);
    const page = await found(alice!, { q: w, roomId: one });
    expect(page.results.map((r) => r.message.roomId)).toEqual([one]);
  });

  it("refuses roomId of a room the caller is not in with 403, and of no room with 404", async () => {
    const [alice, bob] = await people("alice", "bob");
    const theirs = await uniqueRoom("s", [bob!]);
    await expectError(await search(alice!, { q: "hello", roomId: theirs }), 403, "forbidden");
    await expectError(await search(alice!, { q: "hello", roomId: uniqueId("nowhere") }), 404, "not_found");
    await expectError(await search(alice!, { q: "hello", roomId: "not a room id!" }), 400, "bad_request");
  });

  it("lets a visitor search their own room and nothing else", async () => {
    const res = await api("/api/auth/visitor", { method: "POST", json: { name: "Guest" } });
    expect(res.status).toBe(200);
    const { user, roomId } = (await res.json()) as { user: { id: string }; roomId: string };
    const w = word();
    const [own] = await upsert(roomId, [{ text: `${w} from the website`, author: user.id }]);
    await upsert("community", [{ text: `${w} in the community`, seq: 1_000_000 + Math.floor(Math.random() * 1_000_000) }]);
    const page = (await (await search(user.id, { q: w }, "visitor")).json()) as Page;
    expect(page.results.map((r) => r.message.id)).toEqual([own]);
  });

  it("forgets the old words of an edited message and finds the new ones", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const before = word();
    const after = word();
    const [id] = await upsert(room, [{ text: `first ${before}` }]);
    const rowid = async () => (await env.DB.prepare("SELECT rowid AS r FROM messages WHERE id = ?").bind(id).first<{ r: number }>())!.r;
    const original = await rowid();
    await upsert(room, [{ id, text: `second ${after}`, editedAt: new Date().toISOString() }]);
    // The index finds rows by rowid: an upsert must update in place, never re-insert.
    expect(await rowid()).toBe(original);
    expect((await found(alice!, { q: before })).results).toEqual([]);
    const [hit] = (await found(alice!, { q: after })).results;
    expect(hit!.message).toMatchObject({ id, text: `second ${after}` });
    expect(hit!.message.editedAt).not.toBeNull();
    await checkIndex();
  });

  it("leaves nothing of a deleted message findable", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `secret ${w} plans` }]);
    expect((await found(alice!, { q: w })).results).toHaveLength(1);
    await upsert(room, [{ id, text: "", deletedAt: new Date().toISOString() }]);
    expect((await found(alice!, { q: w })).results).toEqual([]);
    expect((await found(alice!, { q: "secret plans" })).results.filter((r) => r.message.id === id)).toEqual([]);
    await checkIndex();
  });

  it("drops rows removed from D1 (retention, erasure) from the index", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `old ${w}` }]);
    await env.DB.prepare("DELETE FROM messages WHERE id = ?").bind(id).run();
    expect((await found(alice!, { q: w })).results).toEqual([]);
    await checkIndex();
  });

  it("does not touch the index when a flush rewrites a row with the same text", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `steady ${w}` }]);
    // FTS5's structure record (id 10) changes with every write to the index.
    const structure = async () => (await env.DB.prepare("SELECT hex(block) AS b FROM messages_fts_data WHERE id = 10").first<{ b: string }>())!.b;
    const before = await structure();
    await env.DB.prepare(
      `INSERT INTO messages (id, room_id, seq, author_id, author_name, text, created_at) VALUES (?1, ?2, 1, 'alice', 'alice', ?3, '')
       ON CONFLICT (id) DO UPDATE SET text = excluded.text, reactions = '{"👍":["bob"]}'`,
    )
      .bind(id, room, `steady ${w}`)
      .run();
    expect(await structure()).toBe(before);
    expect((await found(alice!, { q: w })).results[0]!.message.reactions).toEqual({ "👍": ["bob"] });
    await upsert(room, [{ id, text: `moved ${w}` }]);
    expect(await structure()).not.toBe(before);
    await checkIndex();
  });

  it("quotes replies from the quoted message as it is now", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = await uniqueRoom("s", [alice!, bob!]);
    const w = word();
    const [quoted] = await upsert(room, [{ text: "the original question", author: bob }]);
    await upsert(room, [{ text: `answer ${w}`, replyToId: quoted }]);
    const [hit] = (await found(alice!, { q: w })).results;
    expect(hit!.message.replyTo).toEqual({ id: quoted, author: { id: bob, name: bob }, excerpt: "the original question" });
  });

  it("matches the last word as a prefix while typing, folds case and accents", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `Café ${w}deployment` }]);
    expect((await found(alice!, { q: `cafe ${w}depl` })).results.map((r) => r.message.id)).toEqual([id]);
    expect((await found(alice!, { q: `CAFÉ ${w}DEPLOYMENT` })).results.map((r) => r.message.id)).toEqual([id]);
    // A trailing space says the word is finished.
    expect((await found(alice!, { q: `cafe ${w}depl ` })).results).toEqual([]);
    // Every word must match.
    expect((await found(alice!, { q: `tea ${w}deployment` })).results).toEqual([]);
  });

  it("treats FTS5 syntax in the query as plain text, never as a query or a 500", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const [id] = await upsert(room, [{ text: `${w} NEAR(alpha, beta) "quoted" -minus col:on a*b OR NOT AND ^caret` }]);
    const findIt = [
      `${w} NEAR(alpha`,
      `${w} "quoted`,
      `${w} -minus`,
      `${w} col:on`,
      `${w} a*b`,
      `${w} OR`,
      `${w} AND NOT`,
      `${w} ^caret`,
      `"${w}"`,
      `${w}*`,
      `(${w})`,
      // As operators these would exclude the message; as words they are in it.
      `${w} NOT alpha`,
      `${w} -alpha`,
    ];
    for (const q of findIt) {
      expect((await found(alice!, { q })).results.map((r) => r.message.id), q).toEqual([id]);
    }
    // As an operator OR would find it; as a word ANDed with a missing one, nothing does.
    expect((await found(alice!, { q: `${w} OR nothingelse` })).results).toEqual([]);
    for (const q of [`text:${w}`, `${w} {text}: x`, `NEAR(${w} x, 2)`, `${w} AND (`, '"a" "b"*"c']) {
      expect((await search(alice!, { q })).status, q).toBe(200);
    }
  });

  it("refuses a query with nothing to search for", async () => {
    const [alice] = await people("alice");
    for (const q of ["", "   ", '"', "*", "-", ":", "()", '"" * - :', "👍"]) {
      await expectError(await search(alice!, { q }), 400, "bad_request");
    }
    await expectError(await search(alice!, {}), 400, "bad_request");
    await expectError(await search(alice!, { q: "x".repeat(201) }), 400, "bad_request");
    expect((await search(alice!, { q: "x".repeat(200) })).status).toBe(200);
  });

  it("takes limit 1 to 50", async () => {
    const [alice] = await people("alice");
    expect((await search(alice!, { q: "hello", limit: "50" })).status).toBe(200);
    expect((await search(alice!, { q: "hello", limit: "1" })).status).toBe(200);
    for (const limit of ["51", "0", "-1", "1.5", "ten", ""]) {
      await expectError(await search(alice!, { q: "hello", limit }), 400, "bad_request");
    }
  });

  it("pages through every result once with the cursor, even while new matches arrive", async () => {
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const ids = await upsert(
      room,
      Array.from({ length: 7 }, (_, i) => ({ text: `${w} ${"x ".repeat(i)}` })),
    );
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page: Page = await found(alice!, before ? { q: w, limit: "3", before } : { q: w, limit: "3" });
      seen.push(...page.results.map((r) => r.message.id));
      before = page.nextBefore;
      pages++;
      // A better match than everything so far, arriving mid-way: it must not shift later pages.
      if (pages === 1) await upsert(room, [{ text: `${w} ${w} ${w} ${w}` }]);
    } while (before !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    // A new search sees the new message first.
    expect((await found(alice!, { q: w, limit: "1" })).results[0]!.message.text).toBe(`${w} ${w} ${w} ${w}`);
  });

  it("refuses a cursor it did not make", async () => {
    const [alice] = await people("alice");
    const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "");
    for (const before of ["garbage!", "", "a", b64({ offset: 3 }), b64([0, 5]), b64([3]), b64([3, -1]), b64([1.5, 2]), b64([100000, 1]), b64("x")]) {
      await expectError(await search(alice!, { q: "hello", before }), 400, "bad_request");
    }
  });

  it("needs a token", async () => {
    await expectError(await api("/api/search?q=hello"), 401, "unauthorized");
  });

  it("finds a message sent through the room once the room has flushed it", async () => {
    // Needs the archive that writes the current D1 columns (the flush).
    const [alice] = await people("alice");
    const room = await uniqueRoom("s", [alice!]);
    const w = word();
    const res = await api(`/api/rooms/${room}/messages`, { method: "POST", token: await tokenFor(alice!), json: { clientId: newClientId(), text: `through the room ${w}` } });
    expect(res.status).toBe(201);
    const { message } = (await res.json()) as { message: Message };
    const stub = env.ROOM.get(env.ROOM.idFromName(room));
    while (await runDurableObjectAlarm(stub));
    const [hit] = (await found(alice!, { q: w })).results;
    expect(hit!.message).toMatchObject({ id: message.id, seq: message.seq, text: `through the room ${w}` });
    expect(hit!.snippet).toBe(`through the room <mark>${w}</mark>`);
  });
});
