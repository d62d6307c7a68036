/**
 * "ours" with bench-only seeding, for the history and flush benches. This is the project's
 * own Worker (the same Hono app, routes, auth and Room code) with one addition that never
 * ships: the room class is a subclass with two RPC methods that write its storage directly,
 * and `/__bench/*` routes that call them. The production Worker has no such route.
 *
 *   POST /__bench/seed-d1?room=&from=&to=     D1 rows from..to (one statement per call)
 *   POST /__bench/seed-room?room=&total=&keep= the room's own storage: lastSeq=total and the
 *                                              newest `keep` rows held locally, already flushed
 *   POST /__bench/flush-prepare?room=&rows=   `rows` new (dirty) messages through MessageStore
 *   POST /__bench/flush-run?room=&batch=      flushes them all to D1 with the real Flusher,
 *                                              `batch` rows per flush; returns rows and ms
 *   POST /__bench/d1-counts?room=             rows in D1 now: the room's messages, all
 *                                              notifications, all outbox emails (the notify
 *                                              bench: rows written = after − before; the
 *                                              workerd's D1 is shared by its Workers)
 */
import app from "../../../src/app";
import { Room } from "../../../src/index";
import { Archive } from "../../../src/room/archive";
import { Flusher } from "../../../src/room/flusher";
import { ReadPositions } from "../../../src/room/reads";
import { MessageStore } from "../../../src/room/store";
import type { Bindings } from "../../../src/env";

const SEED_TEXT = "seeded history message, about as long as a line of chat usually is";

export class BenchRoom extends Room {
  /**
   * Makes the room hold lastSeq = total, with the newest `keep` rows local and already flushed
   * (D1 holds all of them, seeded separately). The object then restarts (ctx.abort), so the
   * next request reads the seeded storage the way a room waking up would.
   */
  async benchSeedRoom(roomId: string, total: number, keep: number): Promise<never> {
    const sql = this.ctx.storage.sql;
    new MessageStore(this.ctx.storage); // makes sure the schema exists
    const lo = Math.max(1, total - keep + 1);
    this.ctx.storage.transactionSync(() => {
      sql.exec("DELETE FROM messages");
      sql.exec(
        `WITH RECURSIVE s(n) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT n + 1 FROM s WHERE n < ?)
         INSERT INTO messages (seq, id, client_id, author_id, author_name, text, reply_to_id, created_at,
                               edited_at, deleted_at, rev, flushed_rev)
         SELECT n, ? || '-' || n, NULL, 'seed-' || (n % 50), 'Seed ' || (n % 50), ? || ' #' || n, NULL,
                strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + n / 10.0, 'unixepoch'), NULL, NULL, 1, 1 FROM s`,
        lo,
        total,
        roomId,
        SEED_TEXT,
      );
      sql.exec(
        "INSERT INTO meta (key, value) VALUES ('lastSeq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        String(total),
      );
    });
    await this.ctx.storage.sync(); // committed before the restart throws away anything pending
    this.ctx.abort("bench: reload the seeded room");
    throw new Error("unreachable");
  }

  /** Writes `rows` new messages through the real MessageStore (dirty, waiting for a flush). */
  async benchFlushPrepare(roomId: string, rows: number): Promise<{ dirty: number }> {
    const store = new MessageStore(this.ctx.storage);
    for (let i = 0; i < rows; i++) {
      store.insert(roomId, {
        clientId: `flush-${Date.now()}-${i}`,
        author: { id: `u${i % 20}`, name: `User ${i % 20}` },
        text: `${SEED_TEXT} (flush bench ${i})`,
        replyTo: null,
      });
    }
    return { dirty: store.dirty(10_000_000).length };
  }

  /** Flushes every dirty row with the real Flusher and Archive, `batch` rows per flush. */
  async benchFlushRun(roomId: string, batch: number): Promise<{ rows: number; flushes: number; ms: number }> {
    const store = new MessageStore(this.ctx.storage);
    const flusher = new Flusher(this.ctx.storage, store, new Archive(this.env.DB), new ReadPositions(this.ctx.storage.sql), {
      intervalMs: 3_600_000,
      batchRows: batch,
      retainLocal: 10_000_000,
    });
    const started = Date.now(); // advances across the D1 round trips
    let rows = 0;
    let flushes = 0;
    for (;;) {
      const n = await flusher.flushOnce(roomId);
      if (n === 0) break;
      rows += n;
      flushes++;
    }
    return { rows, flushes, ms: Date.now() - started };
  }
}

function intParam(url: URL, name: string): number {
  const n = Number(url.searchParams.get(name));
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad ${name}`);
  return n;
}

export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/__bench/")) return app.fetch(request, env, ctx);
    const room = url.searchParams.get("room") ?? "";
    const stub = () => env.ROOM.get(env.ROOM.idFromName(room)) as unknown as DurableObjectStub<BenchRoom>;
    try {
      switch (url.pathname) {
        case "/__bench/seed-d1": {
          const from = intParam(url, "from");
          const to = intParam(url, "to");
          const result = await env.DB.prepare(
            `WITH RECURSIVE s(n) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
             INSERT INTO messages (id, room_id, seq, client_id, author_id, author_name, text, reply_to_id,
                                   created_at, edited_at, deleted_at)
             SELECT ?3 || '-' || n, ?3, n, NULL, 'seed-' || (n % 50), 'Seed ' || (n % 50), ?4 || ' #' || n, NULL,
                    strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + n / 10.0, 'unixepoch'), NULL, NULL FROM s`,
          )
            .bind(from, to, room, SEED_TEXT)
            .run();
          return Response.json({ rows: result.meta.changes });
        }
        case "/__bench/seed-room":
          try {
            await stub().benchSeedRoom(room, intParam(url, "total"), intParam(url, "keep"));
          } catch (err) {
            // The room restarts itself once seeded; anything else is a real failure.
            if (!String(err).includes("reload the seeded room")) throw err;
          }
          return Response.json({ ok: true });
        case "/__bench/flush-prepare":
          return Response.json(await stub().benchFlushPrepare(room, intParam(url, "rows")));
        case "/__bench/flush-run":
          return Response.json(await stub().benchFlushRun(room, intParam(url, "batch")));
        case "/__bench/d1-counts": {
          const count = (sql: string, ...args: string[]) => env.DB.prepare(`SELECT count(*) AS n FROM ${sql}`).bind(...args);
          const [messages, notifications, emails] = await env.DB.batch<{ n: number }>([
            count("messages WHERE room_id = ?", room),
            count("notifications"),
            count("email_outbox"),
          ]);
          const n = (r: D1Result<{ n: number }> | undefined) => r?.results[0]?.n ?? 0;
          return Response.json({ messages: n(messages), notifications: n(notifications), emails: n(emails) });
        }
      }
    } catch (err) {
      return Response.json({ error: String(err instanceof Error ? err.stack ?? err.message : err) }, { status: 500 });
    }
    return new Response("not found", { status: 404 });
  },
};
