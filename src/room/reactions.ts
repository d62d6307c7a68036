/**
 * Reactions: which emoji are accepted, and how one user's reaction changes a message's set.
 * A user has at most one reaction on a message: a new emoji replaces their earlier one.
 */

/** Distinct emoji one message may carry. */
export const MAX_DISTINCT_REACTIONS = 20;

/** The `:name:` shortcodes accepted besides emoji themselves (a fixed list, so no free text). */
export const REACTION_NAMES = [
  "+1", "-1", "thumbsup", "thumbsdown", "heart", "smile", "laughing", "joy", "tada", "clap",
  "fire", "eyes", "rocket", "100", "pray", "thinking", "ok_hand", "wave", "white_check_mark",
  "x", "heavy_plus_sign", "question", "exclamation", "star", "sparkles", "muscle", "sob", "cry",
  "rage", "confused", "party", "coffee", "bug", "ship", "zap", "warning",
] as const;
const NAMES = new Set<string>(REACTION_NAMES);

// A pictographic emoji, a flag (two regional indicators) or a keycap, with any modifiers and
// zero-width joiners that keep it one grapheme.
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[#*0-9]\uFE0F?\u20E3)/u;
// Made on first use, not at load: building a grapheme segmenter loads ICU's break rules, a
// large share of a cold isolate's startup CPU that most isolates never need
// (bench/results/issue10-bundle.md).
let segmenter: Intl.Segmenter | undefined;

/** One grapheme cluster that is an emoji, or a `:name:` from the list. */
export function isReactionEmoji(s: string): boolean {
  if (s.length === 0 || s.length > 32 || !s.isWellFormed()) return false;
  const named = /^:([a-z0-9_+-]{1,30}):$/.exec(s);
  if (named) return NAMES.has(named[1]!);
  segmenter ??= new Intl.Segmenter("en", { granularity: "grapheme" });
  const graphemes = segmenter.segment(s)[Symbol.iterator]();
  const first = graphemes.next();
  if (first.done || !graphemes.next().done) return false;
  return EMOJI.test(s);
}

export type ReactionResult =
  | { ok: true; reactions: Record<string, string[]>; changed: boolean }
  | { ok: false; code: "bad_request" | "conflict"; message: string };

/** The message's reactions after `userId` turns `emoji` on or off. Never mutates `current`. */
export function react(current: Record<string, string[]>, userId: string, emoji: string, on: boolean): ReactionResult {
  if (!isReactionEmoji(emoji)) return { ok: false, code: "bad_request", message: "emoji must be one emoji or a known :name:" };
  const has = current[emoji]?.includes(userId) ?? false;
  if (has === on) return { ok: true, reactions: current, changed: false };
  if (!on) return { ok: true, reactions: without(current, userId), changed: true };
  const next = without(current, userId);
  if (!(emoji in next) && Object.keys(next).length >= MAX_DISTINCT_REACTIONS) {
    return { ok: false, code: "conflict", message: `a message carries at most ${MAX_DISTINCT_REACTIONS} different reactions` };
  }
  next[emoji] = [...(next[emoji] ?? []), userId];
  return { ok: true, reactions: next, changed: true };
}

/** The reactions with this user's removed; emoji nobody is left on disappear. */
function without(current: Record<string, string[]>, userId: string): Record<string, string[]> {
  const next: Record<string, string[]> = {};
  for (const [emoji, users] of Object.entries(current)) {
    const rest = users.filter((u) => u !== userId);
    if (rest.length > 0) next[emoji] = rest;
  }
  return next;
}
