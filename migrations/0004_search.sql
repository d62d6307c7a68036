-- Full-text search over message text (docs/search.md). Hand-written: drizzle-kit cannot
-- express FTS5, and drizzle.config.ts keeps it away from `messages_fts*` (tablesFilter).
--
-- External content (content='messages'): the index stores only tokens, the text stays in
-- `messages`, and rows are matched by rowid. `messages` has a TEXT primary key, so it is
-- an ordinary rowid table; flushes upsert with ON CONFLICT (id) DO UPDATE, which updates
-- the row in place and keeps its rowid (INSERT OR REPLACE would not: never use it here).
-- Only `text` is indexed; room and membership filters join back to `messages`.
--
-- Tokenizer: unicode61 with diacritics folded ("cafe" finds "café"). Not trigram: trigram
-- would find substrings, but needs 3+ characters per term (so "ok", "hi", "no" find nothing),
-- writes roughly one index entry per character instead of per word (the flush must stay
-- cheap per row), and ranks poorly. Word prefixes ("deplo" finds "deploy") cover typing as
-- you search. Known limit: scripts without spaces (Chinese, Japanese, Thai) index a whole
-- run of text as one word, so only its beginning is findable by prefix.
CREATE VIRTUAL TABLE `messages_fts` USING fts5(
	`text`,
	content = 'messages',
	content_rowid = 'rowid',
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `messages_fts_insert` AFTER INSERT ON `messages` BEGIN
	INSERT INTO `messages_fts` (rowid, `text`) VALUES (new.rowid, new.`text`);
END;
--> statement-breakpoint
-- Only when the text really changed: a flush rewrites `text` on every upsert (reactions,
-- repeated flushes), and re-indexing an unchanged row would cost two index writes for nothing.
-- A delete sets the text to "", which leaves nothing of the message in the index.
CREATE TRIGGER `messages_fts_update` AFTER UPDATE OF `text` ON `messages` WHEN old.`text` IS NOT new.`text` BEGIN
	INSERT INTO `messages_fts` (`messages_fts`, rowid, `text`) VALUES ('delete', old.rowid, old.`text`);
	INSERT INTO `messages_fts` (rowid, `text`) VALUES (new.rowid, new.`text`);
END;
--> statement-breakpoint
-- Retention and erasure remove rows; an external-content index must be told what they held.
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages` BEGIN
	INSERT INTO `messages_fts` (`messages_fts`, rowid, `text`) VALUES ('delete', old.rowid, old.`text`);
END;
--> statement-breakpoint
-- Index what is already there.
INSERT INTO `messages_fts` (`messages_fts`) VALUES ('rebuild');
