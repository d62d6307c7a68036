/**
 * Which event types some webhook subscribes to, so a room sends the events queue only what
 * someone will receive: a message that notifies nobody, with no webhook for `message.created`,
 * never leaves the room (in a busy room that is most of them). Asked of D1 at most every
 * `TTL_MS` per isolate, so a new webhook hears of events from at most that long after it was
 * created. If D1 cannot say, everything is sent: the consumers drop what nobody wants.
 */
import { log } from "../lib/log";

export const TTL_MS = 30_000;

let cached: { types: Set<string> | null; until: number } = { types: null, until: 0 };

/** The subscribed types, or null for "unknown: send everything". */
export async function webhookTypes(db: D1Database, now = Date.now()): Promise<Set<string> | null> {
  if (now < cached.until) return cached.types;
  let types: Set<string> | null = null;
  try {
    const { results } = await db
      .prepare("SELECT DISTINCT j.value AS type FROM webhooks w, json_each(w.events) j")
      .all<{ type: string }>();
    types = new Set(results.map((r) => r.type));
  } catch (error) {
    log.warn({ msg: "could not read webhook subscriptions; sending every event", error });
  }
  cached = { types, until: now + TTL_MS };
  return types;
}

/** Tests that add a webhook and expect its events at once. */
export function forgetWebhookTypes(): void {
  cached = { types: null, until: 0 };
}
