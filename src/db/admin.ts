/** D1 queries of the administration routes and jobs (docs/administration.md). */

/** Counts D1 answers for the stats: every room, and the messages created since `since`. */
export async function storedCounts(d1: D1Database, since: Date): Promise<{ rooms: number; messages: number }> {
  const [rooms, messages] = await d1.batch<{ n: number }>([
    d1.prepare("SELECT count(*) AS n FROM rooms"),
    // Walks the created_at index from `since` on (migrations/0006_by_age.sql).
    d1.prepare("SELECT count(*) AS n FROM messages WHERE created_at >= ?").bind(since.toISOString()),
  ]);
  return { rooms: rooms!.results[0]?.n ?? 0, messages: messages!.results[0]?.n ?? 0 };
}
