/**
 * The embedded rate limiter: one small Durable Object per limited key, counting hits in a
 * fixed window in its own storage, so limits hold across Worker isolates and restarts
 * without any external service.
 */
import { DurableObject } from "cloudflare:workers";

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the current window ends. */
  resetAt: number;
}

export class Limiter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS window (id INTEGER PRIMARY KEY CHECK (id = 1), started INTEGER NOT NULL, hits INTEGER NOT NULL)",
    );
  }

  hit(limit: number, windowMs: number, now = Date.now()): LimitResult {
    const sql = this.ctx.storage.sql;
    const current = sql.exec<{ started: number; hits: number }>("SELECT started, hits FROM window").toArray()[0];
    let started = current?.started ?? now;
    let hits = current?.hits ?? 0;
    if (now >= started + windowMs) {
      started = now;
      hits = 0;
    }
    const allowed = hits < limit;
    if (allowed) hits++;
    sql.exec("INSERT OR REPLACE INTO window (id, started, hits) VALUES (1, ?, ?)", started, hits);
    return { allowed, limit, remaining: Math.max(0, limit - hits), resetAt: started + windowMs };
  }
}
