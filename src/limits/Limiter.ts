/**
 * The embedded rate limiter: one small Durable Object per limited key (`rule:key`), counting
 * in its own storage with the same sliding window as Upstash, so limits hold across Worker
 * isolates and restarts without any external service. A key left alone for two windows
 * deletes its storage.
 */
import { DurableObject } from "cloudflare:workers";
import type { Rate } from "../config";
import { advance, hit, type Counts, type LimitResult } from "./sliding";

/** How long counts may wait in memory before they are written. */
export const PERSIST_MS = 1000;

export class Limiter extends DurableObject<Env> {
  private counts: Counts | undefined;
  private windowMs = 0;
  private persistTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    // `window` held the fixed window this object counted with before.
    sql.exec("DROP TABLE IF EXISTS window");
    createTable(sql);
    const row = sql.exec<{ window: number; current: number; previous: number; window_ms: number }>("SELECT window, current, previous, window_ms FROM sliding").toArray()[0];
    if (row) {
      this.counts = { window: row.window, current: row.current, previous: row.previous };
      this.windowMs = row.window_ms;
    }
  }

  /**
   * Counts `count` hits (sliding.ts; negative: gives them back). `now` comes from the caller, so
   * every limiter of one request counts on one clock.
   */
  async hit(rate: Rate, now: number, count = 1): Promise<LimitResult> {
    // Counts from a different window size (the setting changed) mean nothing now.
    const counts = advance(this.windowMs === rate.windowMs ? this.counts : undefined, rate, now);
    const result = hit(counts, rate, now, count);
    const fresh = this.counts === undefined;
    this.counts = counts;
    this.windowMs = rate.windowMs;
    this.persistTimer ??= setTimeout(() => this.persist(), PERSIST_MS);
    if (fresh) await this.ctx.storage.setAlarm(Date.now() + 2 * rate.windowMs + 1000);
    return result;
  }

  private persist(): void {
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    if (!this.counts) return;
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO sliding (id, window, current, previous, window_ms) VALUES (1, ?, ?, ?, ?)",
      this.counts.window,
      this.counts.current,
      this.counts.previous,
      this.windowMs,
    );
  }

  async alarm(): Promise<void> {
    this.persist();
    const idleUntil = this.counts ? (this.counts.window + 2) * this.windowMs : 0;
    if (Date.now() < idleUntil) {
      await this.ctx.storage.setAlarm(idleUntil + 1000);
      return;
    }
    this.counts = undefined;
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    await this.ctx.storage.deleteAll();
    // deleteAll drops the table too; this object may be asked again before it is evicted.
    createTable(this.ctx.storage.sql);
  }
}

function createTable(sql: SqlStorage): void {
  sql.exec(
    "CREATE TABLE IF NOT EXISTS sliding (id INTEGER PRIMARY KEY CHECK (id = 1), window INTEGER NOT NULL, current INTEGER NOT NULL, previous INTEGER NOT NULL, window_ms INTEGER NOT NULL)",
  );
}
