/**
 * User text → an FTS5 MATCH expression that FTS5 can only read as plain words. Nothing the
 * user types is ever FTS5 syntax: each whitespace-separated term becomes an FTS5 string
 * (double quotes, inner quotes doubled), so `AND`, `NEAR(`, `*`, `-`, `:` and `^` are text,
 * and the terms are ANDed. Inside a string FTS5 splits on punctuation itself, so `e-mail`
 * becomes the phrase "e mail", as the message text was indexed.
 */

/** The query length limit, in UTF-16 units; far above any real search. */
export const MAX_QUERY_LENGTH = 200;

/** Shorter last terms are matched as whole words: a one-letter prefix would match most of the index. */
const MIN_PREFIX_LENGTH = 2;

/** The index's tokenizer (unicode61) keeps letters and numbers and drops everything else. */
const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * The MATCH expression for `query`, or null when it has nothing searchable (empty, or only
 * punctuation and symbols). The last term also matches as a prefix, so results follow typing
 * ("depl" finds "deploy"), unless the query ends with a space: the word is finished.
 */
export function matchExpression(query: string): string | null {
  const terms = query.split(/\s+/u).filter((t) => WORD_CHAR.test(t));
  if (terms.length === 0) return null;
  const finished = /\s$/u.test(query);
  return terms
    .map((term, i) => {
      const quoted = `"${term.replaceAll('"', '""')}"`;
      const last = i === terms.length - 1;
      return last && !finished && [...term].length >= MIN_PREFIX_LENGTH ? `${quoted}*` : quoted;
    })
    .join(" AND ");
}
