/**
 * The embedded topic store: the room Durable Object's own SQLite. No service to set up, and
 * the scores live and die with the room. An add runs synchronously, so it is one implicit
 * transaction (the runtime commits a turn's writes together): a batch counts entirely or not.
 */
import { FORGET_BELOW, decayed, needsRescale, rounded, weightAt } from "./decay";
import { KEEP_TOPICS, type Topic, type TopicStore } from "./store";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (word TEXT PRIMARY KEY, score REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch REAL NOT NULL);
`;

/** Best first; ties the later word first (byte order), as Redis orders a reversed range. */
const BEST_FIRST = "ORDER BY score DESC, word DESC";

export class SqlTopicStore implements TopicStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  async add(counts: ReadonlyMap<string, number>, now: number): Promise<void> {
    if (counts.size === 0) return;
    const { sql } = this;
    let epoch = this.epoch();
    if (epoch === null || needsRescale(now, epoch)) {
      if (epoch !== null) {
        // Stored scores become the decayed scores of `now`, which is the new epoch.
        sql.exec("UPDATE topics SET score = score * ?", 1 / weightAt(now, epoch));
        sql.exec("DELETE FROM topics WHERE score < ?", FORGET_BELOW);
      }
      epoch = now;
      sql.exec("INSERT OR REPLACE INTO topics_epoch (id, epoch) VALUES (1, ?)", epoch);
    }
    const weight = weightAt(now, epoch);
    for (const [word, n] of counts) {
      sql.exec(
        "INSERT INTO topics (word, score) VALUES (?, ?) ON CONFLICT (word) DO UPDATE SET score = score + excluded.score",
        word,
        n * weight,
      );
    }
    sql.exec(`DELETE FROM topics WHERE word NOT IN (SELECT word FROM topics ${BEST_FIRST} LIMIT ?)`, KEEP_TOPICS);
  }

  async top(limit: number, now: number): Promise<Topic[]> {
    const epoch = this.epoch();
    if (epoch === null) return [];
    const rows = this.sql.exec<{ word: string; score: number }>(`SELECT word, score FROM topics ${BEST_FIRST} LIMIT ?`, limit);
    return rows
      .toArray()
      .map((r) => ({ word: r.word, score: rounded(decayed(r.score, now, epoch)) }))
      .filter((t) => t.score > 0);
  }

  private epoch(): number | null {
    return this.sql.exec<{ epoch: number }>("SELECT epoch FROM topics_epoch").toArray()[0]?.epoch ?? null;
  }
}
