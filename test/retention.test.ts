/**
 * Retention: the daily cron removes messages older than RETENTION_DAYS from D1 (rows, search
 * index, files) and from the rooms, in bounded batches, resumably; history and sync start later.
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RETENTION_BATCH, RETENTION_CRON, retentionStub, type Retention } from "../src/admin/retention";
import { objectKey } from "../src/attachments/store";
import worker from "../src/index";
import type { AttachmentRef, Message } from "../src/protocol";
import type { Room } from "../src/room/Room";
import { asAdmin, eventually } from "./admin-helpers";
import { call, connect, createGroup, expectError, flush, partsOf, people, postAs, roomStubOf, uploadAs } from "./helpers";

const DAY = 24 * 3600_000;

/** The Worker's scheduled handler, as the platform calls it for the daily cron, with these settings. */
async function runDailyCron(vars: Record<string, string>) {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ cron: RETENTION_CRON, scheduledTime: Date.now() }), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
}

type RunStatus = { status: "running" | "done"; cutoff: string; runs: number; progress: { removed: number } };

async function retentionDone(): Promise<RunStatus> {
  return eventually(async () => {
    const res = await asAdmin("GET", "/api/admin/retention");
    const { run } = (await res.json()) as { run: RunStatus | null };
    return run?.status === "done" ? run : null;
  }, "the retention run");
}

/** Messages straight into the room's storage with the given creation times, as if sent then. */
function insertAt(roomId: string, author: string, items: { text: string; at: number; attachments?: AttachmentRef[] }[]) {
  return runInDurableObject(roomStubOf(roomId), (r: Room) => {
    const inserted = items.map((i) =>
      partsOf(r).store.insert(roomId, { clientId: null, author: { id: author, name: author }, text: i.text, replyTo: null, attachments: i.attachments }, new Date(i.at)),
    );
    partsOf(r).flusher.schedule();
    return inserted;
  });
}

async function page(roomId: string, user: string, query = "") {
  const res = await call("GET", `/api/rooms/${roomId}/messages${query}`, user);
  expect(res.status).toBe(200);
  return (await res.json()) as { messages: Message[]; nextBefore: number | null };
}

const d1Seqs = async (roomId: string) =>
  (await env.DB.prepare("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq").bind(roomId).all<{ seq: number }>()).results.map((r) => r.seq);

async function ftsHits(word: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ?").bind(`"${word}"`).first<{ n: number }>())!.n;
}

describe("retention off (RETENTION_DAYS 0, the default)", () => {
  it("keeps every message", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    await insertAt(room.id, a!, [{ text: "a year old", at: Date.now() - 365 * DAY }]);
    await flush(room.id);
    const before = await runInDurableObject(retentionStub(env), (r: Retention) => r.status());
    await runDailyCron({});
    await runDailyCron({ RETENTION_DAYS: "0" });
    expect(await d1Seqs(room.id)).toEqual([1]);
    expect((await page(room.id, b!)).messages.map((m) => m.text)).toEqual(["a year old"]);
    // No run was started.
    expect(await runInDurableObject(retentionStub(env), (r: Retention) => r.status())).toEqual(before);
    expect(((await (await asAdmin("GET", "/api/admin/retention")).json()) as { retentionDays: number }).retentionDays).toBe(0);
  });
});

describe("retention", () => {
  it("removes old messages from D1, the search index, R2 and the room; history and sync start at what is left", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    // A file on an old message, claimed as a send claims it.
    const file = await uploadAs(room.id, a!, "old file", "old.txt");
    await env.DB.prepare("UPDATE attachments SET client_id = 'old-send', claimed_at = ? WHERE id = ?").bind(new Date().toISOString(), file.id).run();
    // Seqs 1-6 are 40 days old, 7-9 new (9 replies to 5).
    const old = await insertAt(
      room.id,
      a!,
      [1, 2, 3, 4, 5, 6].map((i) => ({ text: `limaold ${i}`, at: Date.now() - 40 * DAY + i * 1000, attachments: i === 2 ? [file] : undefined })),
    );
    await postAs(room.id, b!, "new 7");
    await postAs(room.id, a!, "new 8");
    const reply = await postAs(room.id, b!, "new 9", { replyTo: old[4]!.id });
    // A flush of the old rows that is late: it must not bring them back once they are gone.
    const stale = await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.dirty(100));
    await flush(room.id);
    // Seqs 1-3 leave the room (D1 only); 4-9 stay in it.
    await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.prune(6));
    expect(await ftsHits("limaold")).toBe(6);
    const { socket } = await connect(room.id, b!);

    await runDailyCron({ RETENTION_DAYS: "30" });
    const run = await retentionDone();
    expect(run.progress.removed).toBeGreaterThanOrEqual(6);
    expect(Date.parse(run.cutoff)).toBeCloseTo(Date.now() - 30 * DAY, -5);

    // D1: rows, the search index, the file.
    expect(await d1Seqs(room.id)).toEqual([7, 8, 9]);
    expect(await ftsHits("limaold")).toBe(0);
    expect(await env.FILES.head(objectKey(room.id, file.id))).toBeNull();
    await expectError(await call("GET", file.url, b!), 404, "not_found");

    // The room: its copies are gone, and history starts at 7.
    const held = await runInDurableObject(roomStubOf(room.id), (r: Room) => ({
      rows: partsOf(r).store.range(1, 6).length,
      firstSeq: partsOf(r).store.firstSeq,
      lastSeq: partsOf(r).store.lastSeq,
    }));
    expect(held).toEqual({ rows: 0, firstSeq: 7, lastSeq: 9 });
    const newest = await page(room.id, b!);
    expect(newest.messages.map((m) => m.seq)).toEqual([7, 8, 9]);
    expect(newest.nextBefore).toBeNull();
    expect(await page(room.id, b!, "?before=8&limit=5")).toMatchObject({ messages: [{ seq: 7 }], nextBefore: null });
    expect(await page(room.id, b!, "?before=5")).toEqual({ messages: [], nextBefore: null });
    // The reply's quote of a removed message reads as gone.
    expect(newest.messages.find((m) => m.id === reply.id)!.replyTo).toMatchObject({ id: old[4]!.id, excerpt: "", deleted: true });
    // A removed message can be neither read nor changed.
    await expectError(await call("GET", `/api/rooms/${room.id}/messages/${old[0]!.id}/reads`, b!), 404, "not_found");
    await expectError(await call("DELETE", `/api/rooms/${room.id}/messages/${old[4]!.id}`, a!), 404, "not_found");

    // Catch-up after a gap returns what is left, from wherever the client was.
    for (const after of [0, 2, 6]) {
      socket.send({ type: "sync", after });
      const sync = await socket.next("sync");
      expect(sync).toMatchObject({ more: false });
      expect(sync.messages.map((m) => m.seq)).toEqual([7, 8, 9]);
    }
    socket.close();
    await socket.waitClosed();
    const { welcome, socket: again } = await connect(room.id, a!);
    expect(welcome.lastSeq).toBe(9);
    expect(welcome.recent.map((m) => m.seq)).toEqual([7, 8, 9]);
    again.close();
    await again.waitClosed();
    expect((await postAs(room.id, a!, "new 10")).seq).toBe(10);

    // The late flush arrives: D1 keeps what retention left.
    await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).archive.write(room.id, stale, [], partsOf(r).store.firstSeq));
    expect(await d1Seqs(room.id)).toEqual([7, 8, 9]);
    // And after an eviction the room still knows where its history starts.
    await evictDurableObject(roomStubOf(room.id));
    expect((await page(room.id, b!)).messages.map((m) => m.seq)).toEqual([7, 8, 9, 10]);
  });

  it("works through a backlog in bounded batches, and resumes after an eviction", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const count = 2 * RETENTION_BATCH + 100;
    await insertAt(
      room.id,
      a!,
      Array.from({ length: count }, (_, i) => ({ text: `mikeold ${i}`, at: Date.now() - 60 * DAY + i })),
    );
    await postAs(room.id, a!, "mike new");
    await flush(room.id);
    const stub = retentionStub(env);
    // Started as the cron starts it, with its first alarm an hour away: the test drives it.
    await runInDurableObject(stub, (r: Retention) => r.begin({ cutoff: new Date(Date.now() - 30 * DAY).toISOString() }, Date.now() + 3600_000));
    const one = await runInDurableObject(stub, (r: Retention) => r.runPieces(1));
    expect(one).toMatchObject({ status: "running", progress: { removed: RETENTION_BATCH } });
    expect((await d1Seqs(room.id)).length).toBe(count + 1 - RETENTION_BATCH);
    // The room already starts after the first batch.
    expect((await page(room.id, b!, "?limit=100")).messages[0]!.seq).toBe(count + 1 - 99);
    expect((await page(room.id, b!, "?before=600&limit=100")).messages[0]!.seq).toBe(RETENTION_BATCH + 1);

    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const done = await retentionDone();
    expect(done.progress.removed).toBeGreaterThanOrEqual(count);
    expect(await d1Seqs(room.id)).toEqual([count + 1]);
    expect(await ftsHits("mikeold")).toBe(0);
    const newest = await page(room.id, b!);
    expect(newest).toMatchObject({ messages: [{ seq: count + 1, text: "mike new" }], nextBefore: null });
  });
});
