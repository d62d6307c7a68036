/** Rooms created before quotes were read from the quoted row are brought up to date on start. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MessageStore } from "../src/room/store";
import { uniqueId } from "./helpers";

// The room's message table as the previous release created it.
const OLD_SCHEMA = `
DROP TABLE IF EXISTS messages;
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, client_id TEXT, author_id TEXT NOT NULL,
  author_name TEXT NOT NULL, text TEXT NOT NULL, reply_to TEXT, created_at TEXT NOT NULL,
  edited_at TEXT, deleted_at TEXT, rev INTEGER NOT NULL DEFAULT 1, flushed_rev INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_dirty ON messages (seq) WHERE rev > flushed_rev;
CREATE INDEX messages_client_id ON messages (author_id, client_id) WHERE client_id IS NOT NULL;
DELETE FROM meta WHERE key = 'storeVersion';
`;

describe("a room's storage from the previous release", () => {
  it("keeps its messages, turns copied quotes into ids and drops the copied text", async () => {
    const roomId = uniqueId("old");
    const stub = env.ROOM.get(env.ROOM.idFromName(roomId));
    const result = await runInDurableObject(stub, (_room, state) => {
      const sql = state.storage.sql;
      sql.exec(OLD_SCHEMA);
      const quote = JSON.stringify({ id: "m1", author: { id: "a", name: "A" }, excerpt: "my password is hunter2" });
      sql.exec(
        `INSERT INTO messages (seq, id, client_id, author_id, author_name, text, reply_to, created_at)
         VALUES (1, 'm1', 'c1', 'a', 'A', 'my password is hunter2', NULL, '2026-01-01T00:00:00.000Z'),
                (2, 'm2', 'c2', 'b', 'B', 'do not post that', ?, '2026-01-01T00:00:01.000Z')`,
        quote,
      );
      const store = new MessageStore(state.storage);
      const columns = sql.exec("SELECT * FROM messages LIMIT 0").columnNames;
      const rows = store.range(1, 2);
      return { columns, rows, lastSeq: store.lastSeq, version: store.getMeta("storeVersion") };
    });
    expect(result.columns).not.toContain("reply_to");
    expect(result.columns).toEqual(expect.arrayContaining(["reply_to_id", "reactions", "attachments", "adopted"]));
    expect(result.lastSeq).toBe(2);
    expect(result.version).toBe("2");
    expect(result.rows.map((r) => [r.seq, r.reply_to_id, r.q_text])).toEqual([
      [1, null, null],
      [2, "m1", "my password is hunter2"],
    ]);
    // Opening it again changes nothing.
    const again = await runInDurableObject(stub, (_room, state) => new MessageStore(state.storage).range(1, 2).length);
    expect(again).toBe(2);
  });
});
