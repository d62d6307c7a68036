/**
 * The words of a message that count towards the room's topics. Runs on every stored message,
 * in the send path (before the ack goes out), so it is one pass of a few regular expressions
 * over at most 4,000 characters and allocates little.
 */
import { STOP_WORDS } from "./stop-words";

/** Shorter words are mostly grammar ("the", "and", "was"), rarely a topic. */
export const MIN_LETTERS = 4;
/** Longer runs of letters are hashes, keyboard mashing or glued-together text; dropped, not cut. */
export const MAX_LETTERS = 32;
/** One long message may not fill the room's 50 topics by itself: its first 20 distinct words count. */
export const MAX_WORDS_PER_MESSAGE = 20;
/**
 * Letters plus their combining marks, in UTF-16 units. Bounds what a word may cost in storage
 * whatever it carries: a "word" of 5 letters and 200 stacked accents (zalgo text) is dropped.
 */
const MAX_WORD_UNITS = MAX_LETTERS * 4;

/**
 * A word: a letter, then letters and combining marks. Marks belong inside a word, so "café"
 * written as "e" + U+0301 and Devanagari's vowel signs do not split it. Anything else
 * (digits, apostrophes, hyphens, punctuation, emoji) separates words: "don't" is "don" + "t",
 * "e-mail" is "mail", "covid19" is "covid".
 */
const WORD = /\p{L}[\p{L}\p{M}]*/gu;
const LETTER = /\p{L}/gu;

/**
 * Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese).
 * Without a dictionary there are no word boundaries to find in them: a whole sentence would be
 * one "word", and the 4-letter rule makes no sense for two-character Chinese words. So their
 * text does not make topics; it separates the words around it ("Tokyo東京" → "tokyo").
 * Korean is written with spaces and counts like any other language.
 */
const UNSPACED = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]+/gu;

export class Tokenizer {
  constructor(private readonly stopWords: ReadonlySet<string> = STOP_WORDS) {}

  /**
   * The message's topic words: lower case (locale-independent `toLowerCase`, so a server in
   * any locale scores alike), NFC, each once however often the message repeats it, in order
   * of first appearance, at most `MAX_WORDS_PER_MESSAGE`.
   */
  words(text: string): string[] {
    const found = new Set<string>();
    const plain = text.normalize("NFC").replace(UNSPACED, " ");
    for (const [run] of plain.matchAll(WORD)) {
      // Every letter is at least one UTF-16 unit: a shorter run cannot have four.
      if (run.length < MIN_LETTERS || run.length > MAX_WORD_UNITS) continue;
      // Lower-casing can decompose ("İ" → "i" + U+0307); normalise again so equal words compare equal.
      const word = run.toLowerCase().normalize("NFC");
      if (found.has(word) || this.stopWords.has(word)) continue;
      const letters = countLetters(word);
      if (letters < MIN_LETTERS || letters > MAX_LETTERS) continue;
      found.add(word);
      if (found.size === MAX_WORDS_PER_MESSAGE) break;
    }
    return [...found];
  }
}

/** Letters by code point, so "𝔡𝔢𝔭𝔩𝔬𝔶" (surrogate pairs) is six letters and marks count for none. */
function countLetters(word: string): number {
  let n = 0;
  for (const _ of word.matchAll(LETTER)) n++;
  return n;
}
