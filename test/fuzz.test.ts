/**
 * Hostile input: thousands of generated frames over a real room socket and hostile REST
 * requests at every route. Nothing may crash, every refusal must use the contract's error
 * shape, nothing invalid may be stored, and the room must still serve a normal client.
 *
 * Everything random comes from one seeded PRNG; the seed is printed. To reproduce a failure,
 * set FUZZ_SEED below to the printed seed.
 *
 * The oracle for sends is an independent model of the contract (`classifySend`): a frame is
 * `valid` (must be acked, or refused only as rate_limited/duplicate), `invalid` (must never
 * be stored) or `ambiguous` (the contract allows either; if stored, it must be stored
 * faithfully and be valid text).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { quoteOf, type Message } from "../src/protocol";
import { isReactionEmoji } from "../src/room/reactions";
import { api, connect, ensureUsers, flush, openSocket, tokenFor, uniqueId, uniqueRoom, type TestSocket } from "./helpers";

const FUZZ_SEED = 0x5eed_c4a7;
const SOCKET_FRAMES = 3000;
const REST_REQUESTS = 800;
const CHUNK = 150;

// ---- The contract, written down independently of src/ -----------------------------------

/** Error codes the contract names, with the HTTP statuses it gives them. */
const CONTRACT_CODES: Record<string, number[]> = {
  bad_request: [400],
  unauthorized: [401],
  forbidden: [403],
  not_found: [404],
  conflict: [409],
  too_large: [413],
  rate_limited: [429],
  // "code: duplicate" has no status in the contract; 409 (or 400) is what fits.
  duplicate: [409, 400],
  // The issue asks for 415 on uploads whose bytes do not match their type; the contract has no
  // code for it, and the project adds this one (README, docs/attachments.md).
  unsupported_type: [415],
};
const MAX_TEXT = 4000;
const MAX_FRAME = 64 * 1024;
const C0_CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const C1_CONTROLS = /[\u0080-\u009F]/;
const SERVER_FRAME_TYPES = new Set([
  "welcome",
  "ack",
  "message",
  "sync",
  "updated",
  "typing",
  "presence",
  "read",
  "topics",
  "error",
  "batch",
  "pong",
]);

// ---- Seeded randomness --------------------------------------------------------------------

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ASCII = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
const CONTROLS = [..."\u0000\u0001\u0007\u0008\u000B\u000C\u000E\u001B\u001F\u007F"];
const LONE_SURROGATES = ["\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uDE00\uD83D"];
const UNICODE = ["héllo", "Привет", "你好", "مرحبا", "שלום", "😀", "👍🏽", "🇺🇸", "e\u0301", "𝔘𝔫𝔦", "👨‍👩‍👧", "ß", "\u202Egnp.exe", "\uFEFFbom"];
const MARKUP = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(document.cookie)>",
  '"><svg/onload=alert(1)>',
  "javascript:alert(1)",
  "{{constructor.constructor('alert(1)')()}}",
  "'; DROP TABLE messages; --",
  "${7*7} #{7*7} <%= 7*7 %>",
  '<iframe src="//evil.example"></iframe>',
  "&lt;b&gt;bold&lt;/b&gt; &amp;",
  "]]><!-- -->",
  "../../../etc/passwd",
  "%00%0d%0a",
  "\\u0000 \\ud800",
  "__proto__",
  "constructor",
];
const WEIRD_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " ", "type "];
const HUGE_NUMBERS = ["1e308", "-1e308", "1e999", "-1e999", "9007199254740993", "9007199254740991", "-0", "0.5", "-1", "1e-400", "123456789012345678901234567890"];

function randomAscii(rng: Rng, max = 20): string {
  let s = "";
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) s += ASCII[rng.int(ASCII.length)];
  return s;
}

function randomJsonValue(rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 3 ? 6 : 9);
  switch (r) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, Number.MAX_SAFE_INTEGER]);
    case 3:
      return randomAscii(rng);
    case 4:
      return rng.pick(MARKUP);
    case 5:
      return rng.pick(UNICODE) + rng.pick(CONTROLS);
    case 6:
    case 7: {
      const o: Record<string, unknown> = {};
      const n = rng.int(5);
      for (let i = 0; i < n; i++) {
        const key = rng.chance(0.3) ? rng.pick(WEIRD_KEYS) : randomAscii(rng, 8);
        Object.defineProperty(o, key, { value: randomJsonValue(rng, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    default:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
  }
}

// ---- The model of a send ------------------------------------------------------------------

type Verdict =
  | { kind: "valid"; clientId: string; text: string; replyTo: string | null; raw: string }
  | { kind: "invalid"; clientId?: string }
  | { kind: "ambiguous"; clientId?: string; texts: string[] }
  | { kind: "other" };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const asciiTrim = (s: string) => s.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "");
const codePoints = (s: string) => [...s].length;

type Grade = "valid" | "invalid" | "ambiguous";
const worst = (...grades: Grade[]): Grade =>
  grades.includes("invalid") ? "invalid" : grades.includes("ambiguous") ? "ambiguous" : "valid";

function gradeText(raw: unknown): { grade: Grade; texts: string[] } {
  if (typeof raw !== "string") return { grade: "invalid", texts: [] };
  if (!raw.isWellFormed() || C0_CONTROLS.test(raw)) return { grade: "invalid", texts: [] };
  const trimmed = raw.trim();
  const ascii = asciiTrim(raw);
  // Unicode whitespace at the edges: "after trimming" does not say which whitespace.
  if (trimmed !== ascii) return { grade: "ambiguous", texts: [trimmed, ascii] };
  // C1 controls: the contract does not name them; either answer is acceptable.
  if (C1_CONTROLS.test(raw)) return { grade: "ambiguous", texts: [trimmed] };
  const n = codePoints(trimmed);
  if (n === 0 || n > MAX_TEXT) return { grade: "invalid", texts: [] };
  return { grade: "valid", texts: [trimmed] };
}

function gradeClientId(raw: unknown): Grade {
  if (typeof raw !== "string" || raw.length === 0) return "invalid";
  if (!raw.isWellFormed() || C0_CONTROLS.test(raw)) return "invalid";
  // The contract sets no length; the server may refuse very long ids.
  return raw.length <= 100 ? "valid" : "ambiguous";
}

/** Judges a parsed send body (socket frame without `type`, or REST body). */
function classifySend(body: unknown, knownIds: ReadonlySet<string>, socketFrame: boolean): Verdict {
  if (!isPlainObject(body)) return socketFrame ? { kind: "other" } : { kind: "invalid" };
  const clientId = typeof body.clientId === "string" ? body.clientId : undefined;
  if (socketFrame && !(Object.hasOwn(body, "type") && body.type === "send")) {
    return clientId === undefined ? { kind: "other" } : { kind: "invalid", clientId };
  }
  const allowed = new Set(socketFrame ? ["type", "clientId", "text", "replyTo"] : ["clientId", "text", "replyTo"]);
  const extra = Object.keys(body).some((k) => !allowed.has(k));
  const text = gradeText(body.text);
  let reply: Grade = "valid";
  let replyTo: string | null = null;
  if (Object.hasOwn(body, "replyTo") && body.replyTo !== null) {
    if (typeof body.replyTo !== "string") reply = "invalid";
    else if (body.replyTo === "") reply = "ambiguous";
    else if (knownIds.has(body.replyTo)) replyTo = body.replyTo;
    else reply = "invalid";
  }
  const grade = worst(gradeClientId(body.clientId), text.grade, reply, extra ? "ambiguous" : "valid");
  if (grade === "invalid") return { kind: "invalid", clientId };
  if (grade === "ambiguous") return { kind: "ambiguous", clientId, texts: text.texts };
  return { kind: "valid", clientId: clientId!, text: text.texts[0]!, replyTo, raw: body.text as string };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function parseJson(wire: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(wire) };
  } catch {
    return { ok: false };
  }
}

/**
 * Judges a socket frame as the server receives it. A raw (unescaped) lone surrogate cannot be
 * sent as UTF-8: the sending side turns it into U+FFFD, or into three bytes the receiving side
 * decodes as three U+FFFD. Either way the text is valid; both readings are accepted.
 */
function classifyWire(wire: string, knownIds: ReadonlySet<string>): Verdict {
  const readings = wire.isWellFormed()
    ? [wire]
    : [wire.toWellFormed(), wire.replace(LONE_SURROGATE, "\uFFFD\uFFFD\uFFFD")];
  const verdicts = readings.map((r) => {
    const parsed = parseJson(r);
    return parsed.ok ? classifySend(parsed.value, knownIds, true) : ({ kind: "other" } as const);
  });
  const [first] = verdicts as [Verdict, ...Verdict[]];
  if (verdicts.length === 1 || first.kind !== "valid") return first;
  const texts = verdicts.flatMap((v) => (v.kind === "valid" ? [v.text] : []));
  return { kind: "ambiguous", clientId: first.clientId, texts };
}

// ---- Generated socket frames ----------------------------------------------------------------

interface Generated {
  wire: string | Uint8Array;
  label: string;
}

class FrameGenerator {
  private n = 0;
  constructor(
    private readonly rng: Rng,
    private readonly acked: () => { clientId: string; text: string; id: string }[],
  ) {}

  private cid(prefix = "fz"): string {
    return `${prefix}-${FUZZ_SEED.toString(36)}-${this.n++}`;
  }

  private text(): string {
    const rng = this.rng;
    const unique = ` #${this.n++}`;
    switch (rng.int(12)) {
      case 0:
        return rng.pick(MARKUP) + unique;
      case 1:
        return rng.pick(UNICODE) + unique;
      case 2:
        return `a${rng.pick(CONTROLS)}b${unique}`;
      case 3:
        return `x${rng.pick(LONE_SURROGATES)}y${unique}`;
      case 4:
        return rng.pick(["", " ", "\t\n\r ", "\u00A0", "\u3000", "\u200B"]);
      case 5: {
        const n = rng.pick([MAX_TEXT - unique.length, MAX_TEXT - unique.length + 1, MAX_TEXT * 2]);
        return "w".repeat(Math.max(0, n)) + unique;
      }
      case 6:
        return "😀".repeat(rng.pick([MAX_TEXT - 1, MAX_TEXT, MAX_TEXT + 1]));
      case 7:
        return `  \t padded ${randomAscii(rng)}${unique} \n `;
      case 8:
        return `tabs\tand\nnew\r\nlines${unique}`;
      case 9:
        return `c1 \u0085\u009B${unique}`;
      default:
        return `${randomAscii(rng, 40)}${unique}`;
    }
  }

  private sendObject(): Record<string, unknown> {
    const rng = this.rng;
    const frame: Record<string, unknown> = { type: "send", clientId: this.cid(), text: this.text() };
    const r = rng.int(10);
    if (r === 0) frame.replyTo = null;
    if (r === 1) frame.replyTo = `no-such-${this.n++}`;
    if (r === 2 || r === 3) {
      const target = this.acked();
      if (target.length > 0) frame.replyTo = rng.pick(target).id;
    }
    return frame;
  }

  next(): Generated {
    const rng = this.rng;
    const kind = rng.int(19);
    switch (kind) {
      case 0:
        return { label: "random JSON", wire: JSON.stringify(randomJsonValue(rng)) ?? "null" };
      case 1: {
        const junk = rng.pick([
          "",
          "{",
          "}",
          "undefined",
          "NaN",
          "'single'",
          '{"type":"send",}',
          '{"type":"send" "text":"x"}',
          "[",
          "\u0000",
          '{"type":"send","clientId":"x","text":"\\uZZZZ"}',
          '{"type":"typing","on":tru}',
          "\uFEFF{}",
          randomAscii(rng, 200),
        ]);
        return { label: "not JSON", wire: junk };
      }
      case 2:
      case 3:
      case 4: {
        // A valid send, possibly with one field made hostile.
        const frame = this.sendObject();
        const r = rng.int(8);
        const wrong = rng.pick<unknown>([null, 42, true, [], {}, ["x"], { $gt: "" }, 1e308]);
        if (r === 0) frame.text = wrong;
        if (r === 1) frame.clientId = wrong;
        if (r === 2) delete frame.text;
        if (r === 3) frame.type = rng.pick(["SEND", "send ", "", "message", "ack", null]);
        if (r === 4) frame.clientId = `${rng.pick(["\u0000", "\uD800", "a".repeat(101), "😀", "<b>", " "])}${this.cid()}`;
        if (r === 5) frame.clientId = "";
        return { label: "send", wire: JSON.stringify(frame) };
      }
      case 5: {
        // __proto__ and friends as own keys, at the top level and nested.
        const cid = this.cid("proto");
        const text = JSON.stringify(`proto ${this.n++}`);
        const wire = rng.pick([
          `{"type":"send","clientId":"${cid}","text":${text},"__proto__":{"isAdmin":true}}`,
          `{"__proto__":{"type":"send","clientId":"${cid}","text":${text}}}`,
          `{"type":"send","clientId":"${cid}","text":${text},"constructor":{"prototype":{"polluted":"yes"}}}`,
          `{"type":"send","clientId":{"__proto__":"${cid}"},"text":${text}}`,
          `{"type":"send","clientId":"${cid}","text":{"toString":"x"}}`,
          `{"type":"sync","after":0,"__proto__":{"after":1}}`,
          `{"type":"typing","on":true,"constructor":null}`,
          `{"type":"__proto__"}`,
          `{"type":"constructor","clientId":"${cid}"}`,
        ]);
        return { label: "__proto__ keys", wire };
      }
      case 6: {
        const n = rng.pick(HUGE_NUMBERS);
        const wire = rng.pick([
          `{"type":"sync","after":${n}}`,
          `{"type":"read","seq":${n}}`,
          `{"type":"send","clientId":"${this.cid()}","text":"n","replyTo":${n}}`,
          `{"type":"typing","on":${n}}`,
          `{"type":"react","id":"x","emoji":"👍","on":${n}}`,
        ]);
        return { label: "huge numbers", wire };
      }
      case 7: {
        const frames: unknown[] = [
          { type: "typing", on: rng.chance(0.5) },
          { type: "presence", status: rng.pick(["online", "away", "offline", "busy", ""]) },
          { type: "sync", after: rng.pick([0, 1, 10, 2 ** 53 - 1]) },
          { type: "read", seq: rng.int(100) },
          { type: "edit", id: rng.pick(["", "x", "a".repeat(200), this.cid()]), text: this.text() },
          { type: "delete", id: rng.pick(["", "x", "../1", this.cid()]) },
          { type: "react", id: "x", emoji: rng.pick(["👍", "", "a".repeat(40), "<script>"]), on: true },
          { type: "ping" },
          { type: "pong" },
          { type: "welcome", room: { id: "x" } },
        ];
        return { label: "other frame types", wire: JSON.stringify(rng.pick(frames)) };
      }
      case 8:
        return {
          label: "binary",
          wire: Uint8Array.from({ length: rng.int(64) }, () => rng.int(256)),
        };
      case 9: {
        // A raw (unescaped) lone surrogate: the WebSocket turns it into U+FFFD on the wire.
        const cid = this.cid("raw");
        return { label: "raw lone surrogate", wire: `{"type":"send","clientId":"${cid}","text":"raw \uD800 ${this.n++}"}` };
      }
      case 10: {
        // Deep nesting inside an otherwise valid frame.
        const depth = rng.pick([100, 1000, 10_000]);
        const nested = "[".repeat(depth) + "]".repeat(depth);
        return { label: "deep nesting", wire: `{"type":"send","clientId":"${this.cid()}","text":${nested}}` };
      }
      case 11: {
        // Duplicate keys: JSON.parse keeps the last one.
        const cid = this.cid("dupkey");
        return {
          label: "duplicate keys",
          wire: rng.pick([
            `{"type":"send","clientId":"${cid}","text":"ok ${this.n++}","text":"\\u0000"}`,
            `{"type":"send","clientId":"${cid}","text":"\\u0000","text":"ok ${this.n++}"}`,
            `{"type":"sync","type":"send","clientId":"${cid}","text":"dk ${this.n++}"}`,
          ]),
        };
      }
      case 12: {
        // A resend of an acknowledged message: same clientId, same text.
        const earlier = this.acked();
        if (earlier.length === 0) return this.next();
        const m = rng.pick(earlier);
        return { label: "resend", wire: JSON.stringify({ type: "send", clientId: m.clientId, text: m.text }) };
      }
      case 16:
      case 17: {
        // Reactions on real messages: valid, hostile and huge emoji, on and off.
        const earlier = this.acked();
        const id = earlier.length > 0 && rng.chance(0.9) ? rng.pick(earlier).id : rng.pick(["x", "", "__proto__"]);
        const emoji = rng.pick<unknown>(REACTION_EMOJI);
        return { label: "react", wire: JSON.stringify({ type: "react", id, emoji, on: rng.chance(0.7) }) };
      }
      case 18: {
        const earlier = this.acked();
        if (earlier.length === 0 || rng.chance(0.5)) return { label: "read", wire: JSON.stringify({ type: "read", seq: rng.pick([0, 1, 5, 10 ** 6]) }) };
        return { label: "edit", wire: JSON.stringify({ type: "edit", id: rng.pick(earlier).id, text: this.text() }) };
      }
      default:
        return { label: "send", wire: JSON.stringify(this.sendObject()) };
    }
  }
}

const REACTION_EMOJI: unknown[] = ["👍", "❤️", "👍🏽", "🇺🇸", ":tada:", ":nope:", "", "a", "👍👍", "<script>", "\u0000", "\uD800", "x".repeat(40), 5, null, "__proto__", "👨‍👩‍👧"];

/** What a message's reactions may be: known emoji, at most 20 of them, a user on at most one. */
function reactionsProblem(m: Message): string | null {
  const entries = Object.entries(m.reactions ?? {});
  if (entries.length > 20) return `${entries.length} distinct reactions`;
  const users = new Set<string>();
  for (const [emoji, who] of entries) {
    if (!isReactionEmoji(emoji)) return `reaction ${JSON.stringify(emoji)} is not an emoji`;
    if (!Array.isArray(who) || who.length === 0) return `reaction ${emoji} has no users`;
    for (const u of who) {
      if (users.has(u)) return `${u} reacted twice`;
      users.add(u);
    }
  }
  if (m.deletedAt !== null && entries.length > 0) return "a deleted message kept reactions";
  return null;
}

// ---- Checks ---------------------------------------------------------------------------------

function contractErrorProblem(frame: Record<string, unknown>): string | null {
  const keys = Object.keys(frame).filter((k) => !["type", "code", "message", "clientId", "retryAfter"].includes(k));
  if (keys.length > 0) return `unexpected keys ${keys.join(",")}`;
  if (typeof frame.code !== "string" || !(frame.code in CONTRACT_CODES)) return `unknown code ${String(frame.code)}`;
  if (typeof frame.message !== "string" || frame.message.length === 0) return "message is not a non-empty string";
  if (frame.clientId !== undefined && typeof frame.clientId !== "string") return "clientId is not a string";
  if (frame.retryAfter !== undefined && typeof frame.retryAfter !== "number") return "retryAfter is not a number";
  return null;
}

/** The body of a REST refusal: exactly `{ error: { code, message } }`, code fitting the status. */
async function expectContractError(res: Response, what: string) {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${what}: HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  expect(res.headers.get("content-type") ?? "", what).toMatch(/^application\/json/);
  expect(body, what).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  const { code } = (body as { error: { code: string } }).error;
  expect(Object.keys(CONTRACT_CODES), `${what}: code`).toContain(code);
  expect(CONTRACT_CODES[code], `${what}: status ${res.status} for ${code}`).toContain(res.status);
  if (res.status === 429) expect(res.headers.get("retry-after"), `${what}: Retry-After`).toMatch(/^\d+$/);
  return (body as { error: { code: string; message: string } }).error;
}

/** Text that may be stored at all: well-formed, no C0 controls, trimmed, 1..4000 code points. */
function storedTextProblem(text: string): string | null {
  if (!text.isWellFormed()) return "not well-formed";
  if (C0_CONTROLS.test(text)) return "has control characters";
  if (text !== asciiTrim(text)) return "not trimmed";
  const n = codePoints(text);
  if (n < 1 || n > MAX_TEXT) return `${n} code points`;
  return null;
}

async function fullHistory(roomId: string, token: string): Promise<Message[]> {
  const all: Message[] = [];
  let before: number | null | undefined;
  for (;;) {
    const q = before ? `?limit=100&before=${before}` : "?limit=100";
    const res = await api(`/api/rooms/${roomId}/messages${q}`, { token });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { messages: Message[]; nextBefore: number | null };
    all.unshift(...page.messages);
    if (page.nextBefore === null) return all;
    before = page.nextBefore;
  }
}

function expectContiguous(history: Message[]) {
  expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
}

interface Outcome {
  ack?: { id: string; seq: number };
  acks: number;
  errors: string[];
}

/** Collects, per clientId, the acks and errors a socket received. */
function outcomes(socket: TestSocket): Map<string, Outcome> {
  const map = new Map<string, Outcome>();
  const get = (c: string) => {
    let o = map.get(c);
    if (!o) map.set(c, (o = { acks: 0, errors: [] }));
    return o;
  };
  for (const f of socket.frames) {
    if (f.type === "ack") {
      const o = get(f.clientId);
      o.acks++;
      if (o.ack && (o.ack.id !== f.id || o.ack.seq !== f.seq)) o.errors.push(`second ack differs: ${JSON.stringify(f)}`);
      o.ack ??= { id: f.id, seq: f.seq };
    } else if (f.type === "error" && f.clientId !== undefined) {
      get(f.clientId).errors.push(f.code);
    }
  }
  return map;
}

// ---- The tests ------------------------------------------------------------------------------

describe("hostile frames on the room socket", () => {
  it(`answers ${SOCKET_FRAMES} generated hostile frames with contract errors, stays open, stores only valid messages and still serves a normal client`, async () => {
    console.log(`fuzz seed ${FUZZ_SEED} (0x${FUZZ_SEED.toString(16)}), ${SOCKET_FRAMES} socket frames`);
    const rng = new Rng(FUZZ_SEED);
    const room = await uniqueRoom("fuzz", ["fuzzer", "normal-user"]);
    const { socket } = await connect(room, "fuzzer", "Fuzzer");
    const token = await tokenFor("fuzzer", "Fuzzer");

    const verdicts = new Map<string, Verdict>();
    const acked: { clientId: string; text: string; id: string }[] = [];
    const texts = new Map<string, string>();
    const gen = new FrameGenerator(rng, () => acked);
    const labels = new Map<string, number>();
    let sent = 0;
    let barrier = 0;

    const refreshAcked = () => {
      acked.length = 0;
      for (const f of socket.frames) {
        if (f.type === "ack" && texts.has(f.clientId)) acked.push({ clientId: f.clientId, text: texts.get(f.clientId)!, id: f.id });
      }
    };

    while (sent < SOCKET_FRAMES) {
      const knownIds = new Set(acked.map((a) => a.id));
      for (let i = 0; i < CHUNK && sent < SOCKET_FRAMES; i++, sent++) {
        const g = gen.next();
        labels.set(g.label, (labels.get(g.label) ?? 0) + 1);
        if (typeof g.wire === "string") {
          const v = classifyWire(g.wire, knownIds);
          if (v.kind !== "other" && v.clientId !== undefined && !verdicts.has(v.clientId)) {
            verdicts.set(v.clientId, v);
            if (v.kind === "valid") texts.set(v.clientId, v.raw);
          }
        }
        socket.ws.send(g.wire);
      }
      // A barrier: every send is answered (ack or error), so this paces the generator.
      const cid = `barrier-${FUZZ_SEED.toString(36)}-${barrier++}`;
      verdicts.set(cid, { kind: "valid", clientId: cid, text: `barrier ${barrier}`, replyTo: null, raw: `barrier ${barrier}` });
      texts.set(cid, `barrier ${barrier}`);
      socket.send({ type: "send", clientId: cid, text: `barrier ${barrier}` });
      await socket.until(
        () => socket.frames.some((f) => (f.type === "ack" || f.type === "error") && f.clientId === cid),
        `the answer to ${cid}`,
        30_000,
      );
      refreshAcked();
      expect(socket.closed, `socket closed after ${sent} frames`).toBeNull();
    }
    console.log(`fuzz frame kinds: ${JSON.stringify(Object.fromEntries(labels))}`);

    // Every send that may be stored gets an answer: its ack or a refusal (errors carry the
    // clientId cut to 100 characters). Valid ones may only be refused as rate_limited/duplicate.
    const mayStore = [...verdicts.values()].filter((v) => v.kind === "valid" || v.kind === "ambiguous").map((v) => v.clientId!);
    const unanswered = () => {
      const o = outcomes(socket);
      const answered = (cid: string) => (o.get(cid)?.acks ?? 0) > 0 || (o.get(cid.slice(0, 100))?.errors.length ?? 0) > 0;
      return mayStore.filter((cid) => !answered(cid));
    };
    await socket.until(() => unanswered().length === 0, "an answer to every send that may be stored", 30_000);

    // Every frame the server sent is a known type; every error has the contract's shape.
    const problems: string[] = [];
    for (const f of socket.frames) {
      if (!SERVER_FRAME_TYPES.has(f.type)) problems.push(`unknown frame type: ${JSON.stringify(f).slice(0, 200)}`);
      if (f.type === "error") {
        const p = contractErrorProblem(f as unknown as Record<string, unknown>);
        if (p) problems.push(`${p}: ${JSON.stringify(f).slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(socket.closed).toBeNull();

    // History holds exactly the acknowledged messages, contiguous, each valid and faithful.
    const history = await fullHistory(room, token);
    const results = outcomes(socket);
    for (const [cid, v] of verdicts) {
      const o = results.get(cid);
      expect(o?.errors.filter((e) => e.startsWith("second ack")) ?? [], cid).toEqual([]);
      if (v.kind === "invalid") expect(o?.acks ?? 0, `invalid frame with clientId ${JSON.stringify(cid)} was acked`).toBe(0);
      if (v.kind === "valid" && !o?.ack) {
        expect(o?.errors ?? [], `valid send ${cid} refused`).toEqual(
          expect.arrayContaining([expect.stringMatching(/^(rate_limited|duplicate)$/)]),
        );
      }
    }

    const ackedIds = [...results.entries()].filter(([, o]) => o.ack).map(([cid]) => cid);
    expectContiguous(history);
    for (const m of history) expect(reactionsProblem(m), `reactions of seq ${m.seq}`).toBeNull();
    expect(history.length).toBe(ackedIds.length);
    for (const m of history) {
      const v = verdicts.get(m.clientId!);
      const ack = results.get(m.clientId!)?.ack;
      expect({ id: m.id, seq: m.seq }, `ack for ${m.clientId}`).toEqual(ack);
      expect(m.author.id).toBe("fuzzer");
      expect(storedTextProblem(m.text), `stored text of seq ${m.seq}: ${JSON.stringify(m.text.slice(0, 80))}`).toBeNull();
      expect(v?.kind, `stored message ${m.clientId} had verdict`).toMatch(/^(valid|ambiguous)$/);
      if (v?.kind === "valid" && m.editedAt === null) {
        expect(m.text).toBe(v.text);
        if (v.replyTo !== null) expect(m.replyTo?.id).toBe(v.replyTo);
        else expect(m.replyTo).toBeNull();
      }
      if (v?.kind === "ambiguous") expect(v.texts).toContain(m.text);
    }

    // The fuzzing socket received every stored message once and every change to it: applied in
    // order, they equal history.
    await socket.until(() => socket.all("message").length >= history.length, "every message frame");
    // A change to a message also changes every quote of it, as clients show them.
    const seen = new Map<string, Message>();
    for (const f of socket.frames) {
      if (f.type !== "message" && f.type !== "updated") continue;
      seen.set(f.message.id, f.message);
      if (f.type === "updated") {
        for (const m of seen.values()) if (m.replyTo?.id === f.message.id) m.replyTo = quoteOf(f.message.id, f.message);
      }
    }
    expect(socket.all("message").length).toBe(history.length);
    expect([...seen.values()].sort((a, b) => a.seq - b.seq)).toEqual(history);

    // Nothing leaked onto Object.prototype, in the test isolate or in the room.
    const leaked = () => ["polluted", "isAdmin"].filter((k) => k in Object.prototype);
    expect(leaked()).toEqual([]);
    const stub = env.ROOM.get(env.ROOM.idFromName(room));
    expect(await runInDurableObject(stub, () => leaked())).toEqual([]);

    // A normal client still works, and the fuzzing socket hears it.
    const { socket: normal, welcome } = await connect(room, "normal-user", "Normal");
    expect(welcome.lastSeq).toBe(history.length);
    normal.send({ type: "send", clientId: "normal-1", text: "hello after the storm" });
    const ack = await normal.next("ack", (a) => a.clientId === "normal-1");
    expect(ack.seq).toBe(history.length + 1);
    const heard = await socket.next("message", (f) => f.message.clientId === "normal-1");
    expect(heard.message).toMatchObject({ seq: history.length + 1, text: "hello after the storm", author: { id: "normal-user" } });
    normal.close();
    socket.close();
    console.log(`fuzz: ${sent} frames, ${history.length} stored, ${[...verdicts.values()].filter((v) => v.kind === "invalid").length} invalid sends refused`);
  }, 180_000);

  it("refuses the same text from the same user within 10 s even with another message in between", async () => {
    const room = await uniqueRoom("fuzz-spam", ["spammer"]);
    const { socket } = await connect(room, "spammer");
    socket.send({ type: "send", clientId: "spam-1", text: "buy now" });
    expect((await socket.next("ack", (a) => a.clientId === "spam-1")).seq).toBe(1);
    socket.send({ type: "send", clientId: "spam-2", text: "something else" });
    expect((await socket.next("ack", (a) => a.clientId === "spam-2")).seq).toBe(2);
    socket.send({ type: "send", clientId: "spam-3", text: "buy now" });
    const answer = await socket.until(
      () => socket.frames.find((f) => (f.type === "ack" || f.type === "error") && f.clientId === "spam-3"),
      "the answer to spam-3",
    );
    expect(answer).toMatchObject({ type: "error", code: "duplicate", clientId: "spam-3" });
    socket.close();
  });

  it("closes the socket with 1009 for frames over 64 KiB, keeps it open at exactly 64 KiB, and stores nothing from them", async () => {
    const room = await uniqueRoom("fuzz-big", ["big"]);
    const token = await tokenFor("big", "Big");
    const frameOf = (cid: string, fill: string, bytes: number) => {
      const head = `{"type":"send","clientId":"${cid}","text":"`;
      const tail = `"}`;
      const fillBytes = new TextEncoder().encode(fill).byteLength;
      const room = bytes - head.length - tail.length;
      return head + fill.repeat(Math.floor(room / fillBytes)) + "a".repeat(room % fillBytes) + tail;
    };
    const cases: { cid: string; bytes: number; wire: string | Uint8Array; closes: boolean }[] = [
      { cid: "exactly-64k", bytes: MAX_FRAME, wire: frameOf("exactly-64k", "a", MAX_FRAME), closes: false },
      { cid: "euro-under", bytes: MAX_FRAME - 3, wire: frameOf("euro-under", "€", MAX_FRAME - 3), closes: false },
      { cid: "one-byte-over", bytes: MAX_FRAME + 1, wire: frameOf("one-byte-over", "a", MAX_FRAME + 1), closes: true },
      // Fewer UTF-16 units than 64 Ki, but more than 64 KiB of UTF-8.
      { cid: "euro-over", bytes: MAX_FRAME + 3, wire: frameOf("euro-over", "€", MAX_FRAME + 3), closes: true },
      { cid: "one-megabyte", bytes: 1024 * 1024, wire: frameOf("one-megabyte", "a", 1024 * 1024), closes: true },
      { cid: "binary-over", bytes: MAX_FRAME + 1, wire: new Uint8Array(MAX_FRAME + 1), closes: true },
    ];
    for (const c of cases) {
      const size = typeof c.wire === "string" ? new TextEncoder().encode(c.wire).byteLength : c.wire.byteLength;
      expect(size, c.cid).toBe(c.bytes);
      const { socket } = await connect(room, "big", "Big");
      socket.ws.send(c.wire);
      if (c.closes) {
        const closed = await socket.waitClosed();
        expect(closed.code, c.cid).toBe(1009);
      } else {
        const error = await socket.next("error");
        expect(contractErrorProblem(error as unknown as Record<string, unknown>), c.cid).toBeNull();
        expect(error.code, c.cid).toMatch(/^(bad_request|too_large)$/);
        expect(socket.closed, c.cid).toBeNull();
        socket.close();
      }
    }
    expect(await fullHistory(room, token)).toEqual([]);
    const { socket, welcome } = await connect(room, "big", "Big");
    expect(welcome.lastSeq).toBe(0);
    socket.send({ type: "send", clientId: "after-big", text: "still here" });
    expect((await socket.next("ack")).seq).toBe(1);
    socket.close();
  });
});

// ---- REST -----------------------------------------------------------------------------------

interface RestCase {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** What the route must answer: "ok" = 2xx, "refuse" = 4xx, "either". */
  expect: "ok" | "refuse" | "either";
  send?: Verdict;
  route: "auth" | "history" | "post" | "presence" | "health" | "unknown" | "parties" | "other";
  /** For "other" routes: checks a 2xx answer (null body for 204); returns a problem or null. */
  check?: (status: number, body: unknown) => string | null;
}

/** The fuzzing user's view of the sacrificial room that edits, deletes and roster changes go to. */
interface Victim {
  id: string;
  /** Messages by the fuzzing user, and by alice. */
  own: string[];
  others: string[];
  /** Expected text after accepted edits; ids deleted so far. */
  edits: Map<string, string>;
  deleted: Set<string>;
}

const HOSTILE_USERS = ["alice", "bob", "nobody", "", "a".repeat(65), "<script>", "__proto__", "\u0000", "carol"];
const HOSTILE_TITLES = ["Team", "  Team  ", "", "   ", "a".repeat(101), "<script>alert(1)</script>", "t\u0000x", "t\u001Bx", "t\uD800x", "__proto__"];

/** Socket tickets that are not one: malformed, made up, huge, or injection-shaped. */
const HOSTILE_TICKETS = [
  "",
  " ",
  "%00",
  "\u0000",
  "A".repeat(43),
  "A".repeat(42),
  "A".repeat(44),
  `${"A".repeat(42)}=`,
  `${"A".repeat(42)}+`,
  "a.b.c",
  "../../admin",
  "__proto__",
  "constructor",
  "<script>alert(1)</script>",
  "'; DROP TABLE members; --",
  "😀".repeat(22),
  "x".repeat(10_000),
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const hasKeys = (body: unknown, ...keys: string[]) =>
  isObject(body) && keys.every((k) => k in body) ? null : `expected keys ${keys.join(", ")} in ${JSON.stringify(body).slice(0, 200)}`;

/** Requests at the routes beyond messages and presence, with hostile params and bodies. */
function otherRouteCase(rng: Rng, n: number, auth: Record<string, string>, authed: boolean, rooms: { fuzz: string; victim: Victim }): RestCase {
  const json = { ...auth, "content-type": "application/json" };
  const v = rooms.victim;
  const base = { label: "other", headers: json, route: "other" as const, expect: "either" as const };
  const r = rng.int(23);
  switch (r) {
    case 0: {
      const cursor = (value: string) => `?cursor=${encodeURIComponent(btoa(value).replace(/=+$/, ""))}`;
      const limit = rng.pick([
        "",
        "?limit=5",
        "?limit=0",
        "?limit=abc",
        "?limit=99999",
        "?cursor=__proto__",
        `?cursor=${"x".repeat(500)}`,
        "?cursor=%00",
        cursor('["2020-01-01T00:00:00Z","x"]'),
        cursor('["2020-01-01T00:00:00Z","<script>"]'),
        cursor("[1,2]"),
        cursor('{"__proto__":{"at":"x"}}'),
        cursor('["9999-99-99T99:99:99Z","' + "a".repeat(64) + '"]'),
      ]);
      return { ...base, method: "GET", path: `/api/rooms${limit}`, check: (_s, b) => hasKeys(b, "rooms") };
    }
    case 1:
      return {
        ...base,
        method: "POST",
        path: "/api/rooms/direct",
        body: JSON.stringify(rng.chance(0.8) ? { userId: rng.pick(HOSTILE_USERS) } : randomJsonValue(rng)) ?? "null",
        check: (_s, b) => hasKeys(b, "room"),
      };
    case 2: {
      const title = rng.pick(HOSTILE_TITLES);
      const grade = gradeText(title).grade;
      return {
        ...base,
        method: "POST",
        path: "/api/rooms/group",
        body: JSON.stringify({ title, members: rng.pick<unknown>([["alice"], ["alice", "bob"], [], ["nobody"], "alice", [null], [title]]) }),
        // A title with control characters or broken Unicode must never be stored.
        expect: grade === "invalid" && title.trim() !== "" && authed ? "refuse" : "either",
        check: (_s, b) => {
          const t = isObject(b) && isObject(b.room) ? b.room.title : undefined;
          return typeof t === "string" && storedTextProblem(t) !== null && t.length <= 100 ? `stored title ${JSON.stringify(t)}` : hasKeys(b, "room");
        },
      };
    }
    case 3: {
      const id = rng.pick([rooms.fuzz, v.id, ...OTHER_ROOM_IDS, ...HOSTILE_ROOM_IDS]);
      return { ...base, method: "GET", path: `/api/rooms/${segment(id)}`, check: (_s, b) => hasKeys(b, "room", "members") };
    }
    case 4:
      return {
        ...base,
        method: "POST",
        path: `/api/rooms/${v.id}/members`,
        body: JSON.stringify({ userId: rng.pick(HOSTILE_USERS), ...(rng.chance(0.5) ? { role: rng.pick<unknown>(["member", "moderator", "admin", "owner", "", 1, null]) } : {}) }),
      };
    case 5:
      return {
        ...base,
        method: "PATCH",
        path: `/api/rooms/${v.id}/members/${segment(rng.pick(HOSTILE_USERS))}`,
        body: JSON.stringify({ role: rng.pick<unknown>(["member", "moderator", "admin", "root", "", null, ["admin"]]) }),
      };
    case 6:
      return {
        ...base,
        method: "DELETE",
        path: `/api/rooms/${v.id}/members/${segment(rng.pick(HOSTILE_USERS))}${rng.pick(["", "?successor=bob", "?successor=%00", "?successor=nobody"])}`,
      };
    case 7: {
      const seq = rng.pick<unknown>([0, 1, 5, 1e308, -1, 1.5, "3", null, 2 ** 53]);
      const valid = typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0;
      return {
        ...base,
        method: "POST",
        path: `/api/rooms/${rng.pick([rooms.fuzz, v.id])}/read`,
        body: JSON.stringify({ seq }),
        expect: !authed ? "refuse" : valid ? "ok" : typeof seq === "number" && seq > 0 && !Number.isSafeInteger(seq) ? "either" : "refuse",
      };
    }
    case 8: {
      const q = rng.pick(["", "?q=al", "?q=%00", `?q=${"x".repeat(100)}`, "?q=<script>", "?limit=0", "?limit=101", "?q=__proto__&limit=5", "?q=%25"]);
      return { ...base, method: "GET", path: `/api/users${q}`, check: (_s, b) => hasKeys(b, "users") };
    }
    case 9: {
      const name = rng.pick(["Guest", "  Guest  ", "", "G\u0000", "G\uD800", "G\u001B[2J", "<img src=x onerror=alert(1)>", "a".repeat(65)]);
      const grade = gradeText(name).grade;
      return {
        ...base,
        method: "POST",
        path: "/api/auth/visitor",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
        expect: grade === "invalid" && name.trim() !== "" ? "refuse" : "either",
        check: (_s, b) => {
          const user = isObject(b) && isObject(b.user) ? b.user : null;
          if (!user || user.kind !== "visitor" || typeof user.name !== "string") return `not a visitor session: ${JSON.stringify(b).slice(0, 200)}`;
          return storedTextProblem(user.name) === null ? null : `stored visitor name ${JSON.stringify(user.name)}`;
        },
      };
    }
    case 10: {
      // Edits: own messages (valid text must be accepted, invalid refused), others' (refused).
      const mine = rng.chance(0.7);
      const id = mine ? rng.pick(v.own) : rng.chance(0.7) ? rng.pick(v.others) : rng.pick(["nope", "", "__proto__", "a".repeat(200)]);
      const raw = rng.pick([`edited ${n}`, `  edited ${n}  `, `e\u0000 ${n}`, `e\uD800 ${n}`, "", "   ", "w".repeat(MAX_TEXT + 1), `<b>edited</b> ${n}`]);
      const grade = gradeText(raw);
      const live = mine && !v.deleted.has(id);
      return {
        ...base,
        method: "PATCH",
        path: `/api/rooms/${v.id}/messages/${segment(id)}`,
        body: JSON.stringify({ text: raw }),
        expect: !authed ? "refuse" : live && grade.grade === "valid" ? "ok" : grade.grade === "invalid" || (!mine && id !== "") ? "refuse" : "either",
        check: (_s, b) => {
          const m = isObject(b) && isObject(b.message) ? (b.message as unknown as Message) : null;
          if (!m) return `no message in ${JSON.stringify(b).slice(0, 200)}`;
          const problem = storedTextProblem(m.text);
          if (problem) return `edit stored text that ${problem}`;
          if (grade.grade === "valid" && m.text !== grade.texts[0]) return `edit stored ${JSON.stringify(m.text)} for ${JSON.stringify(grade.texts[0])}`;
          v.edits.set(m.id, m.text);
          return null;
        },
      };
    }
    case 12: {
      const id = rng.pick([...v.own, ...v.others, "nope", "__proto__", "%00", ""]);
      return {
        ...base,
        method: "GET",
        path: `/api/rooms/${rng.pick([v.id, rooms.fuzz, ...OTHER_ROOM_IDS])}/messages/${segment(id)}/reads`,
        check: (_s, b) =>
          isObject(b) && Array.isArray(b.readBy) && b.readBy.every((u) => isObject(u) && typeof u.id === "string" && typeof u.name === "string")
            ? null
            : `not a reader list: ${JSON.stringify(b).slice(0, 200)}`,
      };
    }
    case 13: {
      const id = rng.pick([rooms.fuzz, v.id, ...OTHER_ROOM_IDS, ...HOSTILE_ROOM_IDS]);
      const mineRoom = id === rooms.fuzz || id === v.id;
      return {
        ...base,
        method: rng.pick(["PUT", "DELETE"]),
        path: `/api/rooms/${segment(id)}/archive`,
        expect: !authed || (!mineRoom && id !== "" && id !== "..") ? "refuse" : "either",
      };
    }
    case 14: {
      const q = rng.pick(["victim", "vic", '"', "*", "victim AND", "NEAR(a b)", "-victim", "col:victim", "%00", "<script>", "", "   ", "x".repeat(201), "__proto__", "😀", "%F0%9F"]);
      const extra = rng.pick(["", "&limit=50", "&limit=51", "&limit=0", `&roomId=${v.id}`, `&roomId=${rng.pick(OTHER_ROOM_IDS)}`, "&roomId=%00", "&before=garbage", "&before=" + btoa("[1,2]")]);
      return {
        ...base,
        method: "GET",
        path: `/api/search?q=${encodeURIComponent(q).replace(/%2500/g, "%00").replace(/%25F0%259F/g, "%F0%9F")}${extra}`,
        check: (_s, b) => {
          if (!isObject(b) || !Array.isArray(b.results)) return `not search results: ${JSON.stringify(b).slice(0, 200)}`;
          for (const r of b.results) {
            const m = isObject(r) && isObject(r.message) ? (r.message as unknown as Message) : null;
            if (!m || typeof r.snippet !== "string") return `not a result: ${JSON.stringify(r).slice(0, 200)}`;
            if (m.roomId !== v.id && m.roomId !== rooms.fuzz) return `search returned a message of room ${m.roomId}`;
            if (/<(?!\/?mark>)/.test(r.snippet)) return `snippet has markup: ${r.snippet.slice(0, 200)}`;
          }
          return null;
        },
      };
    }
    case 15: {
      // Uploads: hostile names, declared types and bodies. Only a text body declared as text may be stored.
      const name = rng.pick(["a.txt", "", "../../etc/passwd", "a\u0000.txt", "<script>.txt", "x".repeat(201), "%00", "ok.pdf"]);
      const type = rng.pick(["text/plain", "image/png", "application/x-msdownload", "", "text/html", "image/svg+xml"]);
      const body = rng.pick(["hello", "", "\u0000\u0001", "<svg onload=alert(1)>", "%PDF-1.4 not really", "\x7fELF"]);
      const named = encodeURIComponent(name).replace(/%2500/g, "%00");
      return {
        ...base,
        method: "POST",
        path: `/api/rooms/${rng.pick([v.id, ...OTHER_ROOM_IDS])}/attachments${rng.chance(0.9) ? `?name=${named}` : ""}`,
        headers: { ...auth, ...(type ? { "content-type": type } : {}) },
        body,
        check: (_s, b) => {
          const a = isObject(b) && isObject(b.attachment) ? b.attachment : null;
          if (!a || typeof a.url !== "string" || typeof a.id !== "string") return `not an attachment: ${JSON.stringify(b).slice(0, 200)}`;
          return a.mimeType === "text/plain" && type === "text/plain" ? null : `stored ${String(a.mimeType)} declared ${type}`;
        },
      };
    }
    case 17: {
      // Socket tickets: a POST with any body (it is ignored) gives the caller one; any other
      // method is no route.
      const method = rng.pick(["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH"]);
      const body = rng.pick<unknown>([undefined, {}, randomJsonValue(rng), "x".repeat(1000), { ticket: "A".repeat(43) }]);
      return {
        ...base,
        label: "ticket",
        method,
        path: `/api/auth/ticket${rng.pick(["", "?ticket=x", "?__proto__=1", "?token=a.b.c"])}`,
        ...(body === undefined || method === "GET" ? {} : { body: JSON.stringify(body) }),
        expect: method === "POST" && authed ? "ok" : "refuse",
        check: (_s, b) =>
          isObject(b) && Object.keys(b).length === 2 && typeof b.ticket === "string" && /^[A-Za-z0-9_-]{43}$/.test(b.ticket) && typeof b.expiresAt === "string"
            ? null
            : `not a ticket: ${JSON.stringify(b).slice(0, 200)}`,
      };
    }
    case 16:
      return {
        ...base,
        method: rng.pick(["GET", "DELETE"]),
        path: `/api/rooms/${rng.pick([v.id, ...OTHER_ROOM_IDS])}/attachments/${segment(rng.pick(["nope", "", "__proto__", "..", "a".repeat(200), "%00"]))}`,
        headers: { ...auth, ...(rng.chance(0.5) ? { range: rng.pick(["bytes=0-0", "bytes=-1", "bytes=5-1", "bytes=x", "items=0-1"]) } : {}) },
        expect: authed ? "refuse" : "refuse",
      };
    case 17:
      return {
        ...base,
        label: "notifications",
        method: "GET",
        path: `/api/notifications${rng.pick(["", "?limit=5", "?limit=0", "?limit=101", "?before=abc", "?before=1", "?before=-1", "?__proto__=1", "?limit=%00"])}`,
        check: (_s, b) => hasKeys(b, "notifications", "nextBefore"),
      };
    case 18:
      return {
        ...base,
        label: "notification",
        method: rng.pick(["POST", "DELETE"]),
        path: `/api/notifications/${segment(rng.pick(["n_000000000000000000000000", "nope", "__proto__", "%00", "a".repeat(300), "preferences"]))}${rng.pick(["/read", ""])}`,
        expect: "refuse",
      };
    case 19:
      return {
        ...base,
        label: "presence",
        method: "GET",
        path: `/api/presence${rng.pick(["", "?userIds=", "?userIds=alice,bob", "?userIds=%00", "?userIds=<script>", `?userIds=${Array.from({ length: 101 }, (_, i) => `u${i}`).join(",")}`, "?userIds=__proto__"])}`,
        check: (_s, b) => hasKeys(b, "users"),
      };
    case 20: {
      const method = rng.pick(["GET", "PUT", "PUT", "POST"]);
      return {
        ...base,
        label: "preferences",
        method,
        path: "/api/notifications/preferences",
        ...(method === "GET" ? {} : { body: JSON.stringify(
          rng.pick<unknown>([
            { email: "daily" },
            { email: "weekly" },
            { inApp: "yes" },
            { mutedRooms: ["ok", "<script>"] },
            { mutedRooms: Array.from({ length: 501 }, (_, i) => `r${i}`) },
            { __proto__: { push: false } },
            randomJsonValue(rng),
          ]),
        ) }),
        check: (_s, b) => hasKeys(b, "inApp", "email", "push", "mutedRooms"),
      };
    }
    case 21:
      return {
        ...base,
        label: "push subscription",
        method: rng.pick(["POST", "DELETE"]),
        path: "/api/push/subscriptions",
        body: JSON.stringify(
          rng.pick<unknown>([
            { endpoint: "http://insecure.test/x", keys: { p256dh: "x", auth: "y" } },
            { endpoint: "https://push.test/x" },
            { endpoint: "javascript:alert(1)", keys: {} },
            { endpoint: "x".repeat(5000) },
            randomJsonValue(rng),
          ]),
        ),
        expect: "refuse",
      };
    case 22: {
      const method = rng.pick(["GET", "POST", "DELETE"]);
      return {
        ...base,
        label: "webhooks (not an admin)",
        method,
        path: `/api/admin/webhooks${rng.pick(["", "/nope", "/__proto__"])}`,
        ...(method === "GET" ? {} : { body: JSON.stringify({ url: "https://example.com/hook", events: ["message.created"] }) }),
        expect: "refuse",
      };
    }
    default: {
      const mine = rng.chance(0.5);
      const id = mine ? rng.pick(v.own) : rng.chance(0.5) ? rng.pick(v.others) : rng.pick(["nope", "__proto__", "%00"]);
      if (rng.chance(0.5)) {
        const emoji = rng.pick(["👍", "%F0%9F%91%8D", "", "a".repeat(40), "%3Cscript%3E", "%00", "__proto__", "%3Atada%3A", ":nope:", "%F0%9F%91%8D%F0%9F%91%8D"]);
        return {
          ...base,
          method: rng.pick(["PUT", "DELETE"]),
          path: `/api/rooms/${v.id}/messages/${segment(id)}/reactions/${emoji}`,
          check: (_s, b) => {
            const m = isObject(b) && isObject(b.message) ? (b.message as unknown as Message) : null;
            return m ? reactionsProblem(m) : `no message in ${JSON.stringify(b).slice(0, 200)}`;
          },
        };
      }
      return {
        ...base,
        method: "DELETE",
        path: `/api/rooms/${v.id}/messages/${segment(id)}`,
        expect: authed && mine && !v.deleted.has(id) ? "ok" : "either",
        check: (_s, b) => {
          const m = isObject(b) && isObject(b.message) ? (b.message as unknown as Message) : null;
          if (!m) return `no message in ${JSON.stringify(b).slice(0, 200)}`;
          if (m.text !== "" || m.deletedAt === null) return `a deleted message kept its text or has no deletedAt: ${JSON.stringify(m).slice(0, 200)}`;
          v.deleted.add(m.id);
          return null;
        },
      };
    }
  }
}

const HOSTILE_ROOM_IDS = [
  "",
  "a".repeat(65),
  "room id",
  "room\u0000",
  "<script>",
  "😀",
  "..",
  "a/b",
  "%2e%2e",
  "x'or'1'='1",
  "\uD800",
];
/** A path segment for a room id; a lone surrogate has no UTF-8 form, so send the bytes it would get. */
const segment = (id: string) => (id.isWellFormed() ? encodeURIComponent(id) : "%ED%A0%80");
/** Well-formed room ids of rooms the fuzzing user is not a member of (most do not exist). */
const OTHER_ROOM_IDS = ["__proto__", "constructor", "toString", "hasOwnProperty", "a".repeat(64), "-", "_"];

function hostileQuery(rng: Rng): { query: string; valid: Grade } {
  const good = () => String(rng.between(1, 100));
  const badLimit = () => rng.pick(["0", "-1", "101", "abc", "1.5", "99999999999999999999", "%00", "<script>", "%E0%A4%A", "NaN", "Infinity"]);
  const badBefore = () => rng.pick(["-1", "abc", "1.5", "%00", "<script>", "%E0%A4%A", "NaN"]);
  const r = rng.int(6);
  if (r === 0) return { query: "", valid: "valid" };
  if (r === 1) return { query: `?limit=${good()}`, valid: "valid" };
  if (r === 2) return { query: `?limit=${good()}&before=${rng.between(1, 10_000)}`, valid: "valid" };
  if (r === 3) return { query: `?limit=${badLimit()}`, valid: "invalid" };
  if (r === 4) return { query: `?before=${badBefore()}`, valid: "invalid" };
  const odd = ["?limit=", "?limit=5&limit=6", "?limit=+5", "?limit=05", "?limit=1e2", "?__proto__=1&limit=3", "?before=", "?before=0", "?before=99999999999999999999"];
  return { query: rng.pick(odd), valid: "ambiguous" };
}

function hostileBody(rng: Rng, n: number, knownIds: ReadonlySet<string>): { body: string; contentType: string; send: Verdict } {
  const cid = `rest-${FUZZ_SEED.toString(36)}-${n}`;
  const text = () =>
    rng.pick([
      `${rng.pick(MARKUP)} ${n}`,
      `${rng.pick(UNICODE)} ${n}`,
      `a${rng.pick(CONTROLS)}b ${n}`,
      `x${rng.pick(LONE_SURROGATES)} ${n}`,
      "",
      "   ",
      "w".repeat(MAX_TEXT + 1),
      "w".repeat(MAX_TEXT - 6) + ` ${n}`.padStart(6, "w"),
      `plain ${n}`,
      `plain ${n}`,
    ]);
  const r = rng.int(10);
  let value: unknown;
  let raw: string | undefined;
  if (r <= 3) value = { clientId: cid, text: text() };
  else if (r === 4) value = { clientId: cid, text: text(), replyTo: rng.pick([null, "nope", ...knownIds]) };
  else if (r === 5) value = { clientId: rng.pick<unknown>([42, null, "", "\u0000x", ["a"], cid]), text: rng.pick<unknown>([7, null, [], { a: 1 }, text()]) };
  else if (r === 6) raw = rng.pick([`{"clientId":"${cid}","text":"p ${n}","__proto__":{"admin":true}}`, `{"__proto__":{"clientId":"${cid}","text":"q ${n}"}}`]);
  else if (r === 7) raw = rng.pick(["", "{", "null", "[]", '"text"', "\uFEFF{}", `{"clientId":"${cid}","text":"big ${"x".repeat(2_000_000)}"}`, "[".repeat(5000)]);
  else if (r === 8) value = randomJsonValue(rng);
  else value = { clientId: cid, text: `ok ${n}`, extra: rng.pick(MARKUP) };
  const body = raw ?? JSON.stringify(value) ?? "null";
  let parsed: unknown;
  let isJson = true;
  try {
    parsed = JSON.parse(body.toWellFormed());
  } catch {
    isJson = false;
  }
  const contentType = rng.pick(["application/json", "application/json", "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", ""]);
  let send: Verdict = isJson ? classifySend(parsed, knownIds, false) : { kind: "invalid" };
  // A body that is not declared as JSON may be refused, but need not be.
  if (!/^application\/json/.test(contentType) && send.kind === "valid") send = { kind: "ambiguous", clientId: send.clientId, texts: [send.text] };
  return { body, contentType, send };
}

describe("hostile REST requests", () => {
  it(`answers ${REST_REQUESTS} generated requests at every route with the contract's shapes and never with 5xx, storing only valid posts`, async () => {
    const rng = new Rng(FUZZ_SEED ^ 0xabcdef);
    console.log(`fuzz seed ${FUZZ_SEED} (REST: ${REST_REQUESTS} requests)`);
    const token = await tokenFor("rest-fuzzer", "Rest Fuzzer");
    const room = await uniqueRoom("fuzz-rest", ["rest-fuzzer", "after-rest"]);
    const posted = new Map<string, { id: string; seq: number; text: string; verdict: Verdict }>();
    const verdicts = new Map<string, Verdict>();
    const failures: string[] = [];

    // A sacrificial room for edits, deletes and roster changes, with messages to work on.
    await ensureUsers(["rest-fuzzer", "alice", "bob", "carol"]);
    const victim: Victim = {
      id: await uniqueRoom("fuzz-victim", ["rest-fuzzer", "alice", "bob", "carol"]),
      own: [],
      others: [],
      edits: new Map(),
      deleted: new Set(),
    };
    const aliceToken = await tokenFor("alice");
    for (let i = 0; i < 6; i++) {
      for (const [who, list] of [[token, victim.own], [aliceToken, victim.others]] as const) {
        const res = await api(`/api/rooms/${victim.id}/messages`, { method: "POST", token: who, json: { clientId: `v-${i}`, text: `victim ${i}` } });
        expect(res.status).toBe(201);
        list.push(((await res.json()) as { message: Message }).message.id);
      }
    }
    // What search may find (the victim room, flushed) and must never show (a room the fuzzer is not in).
    const privateRoom = await uniqueRoom("fuzz-private", ["alice", "bob"]);
    await api(`/api/rooms/${privateRoom}/messages`, { method: "POST", token: aliceToken, json: { clientId: "p-1", text: "victim private" } });
    for (const id of [victim.id, privateRoom]) await flush(id);

    for (let n = 0; n < REST_REQUESTS; n++) {
      const auth: Record<string, string> = rng.chance(0.95) ? { authorization: `Bearer ${token}` } : rng.pick<Record<string, string>>([{}, { authorization: `Bearer ${"x".repeat(9000)}` }, { authorization: "Bearer a.b.c" }]);
      const authed = auth.authorization === `Bearer ${token}`;
      /** `valid`: a room the fuzzing user may use. */
      const pickRoom = (): { id: string; valid: boolean } => {
        const r = rng.int(10);
        if (r < 6) return { id: room, valid: true };
        if (r < 8) return { id: rng.pick(OTHER_ROOM_IDS), valid: false };
        return { id: rng.pick(HOSTILE_ROOM_IDS), valid: false };
      };
      let c: RestCase;
      switch (rng.int(10)) {
        case 8:
        case 9:
          c = otherRouteCase(rng, n, auth, authed, { fuzz: room, victim });
          break;
        case 0: {
          const body = rng.pick<unknown>([
            { userId: `u${n}`, name: `User ${n}` },
            { userId: rng.pick(["", "a b", "<script>", "__proto__", "a".repeat(65), "\u0000"]), name: "X" },
            { userId: `u${n}`, name: rng.pick(["", " ", "a".repeat(65), 5, null]) },
            { userId: `u${n}`, name: `N ${n}`, kind: "admin" },
            randomJsonValue(rng),
          ]);
          c = { label: "dev login", method: "POST", path: "/api/auth/dev", headers: { "content-type": "application/json" }, body: JSON.stringify(body) ?? "null", expect: "either", route: "auth" };
          break;
        }
        case 1:
        case 2: {
          const target = pickRoom();
          const q = hostileQuery(rng);
          const validRoom = target.valid && target.id !== "";
          c = {
            label: "history",
            method: "GET",
            path: `/api/rooms/${segment(target.id)}/messages${q.query}`,
            headers: auth,
            expect: !authed ? "refuse" : !validRoom ? (target.id === "" || target.id === ".." ? "either" : "refuse") : q.valid === "valid" ? "ok" : q.valid === "invalid" ? "refuse" : "either",
            route: "history",
          };
          break;
        }
        case 3:
        case 4: {
          const target = rng.chance(0.85) ? { id: room, valid: true } : pickRoom();
          const knownIds = new Set([...posted.values()].map((p) => p.id));
          const b = hostileBody(rng, n, knownIds);
          const headers: Record<string, string> = { ...auth };
          if (b.contentType) headers["content-type"] = b.contentType;
          const toFuzzRoom = target.id === room;
          c = {
            label: "post",
            method: "POST",
            path: `/api/rooms/${segment(target.id)}/messages`,
            headers,
            body: b.body,
            expect: !authed || !target.valid ? "refuse" : b.send.kind === "valid" ? "ok" : b.send.kind === "invalid" ? "refuse" : "either",
            route: "post",
            ...(toFuzzRoom && authed ? { send: b.send } : {}),
          };
          if (!target.valid && (target.id === "" || target.id === "..")) c.expect = "either";
          break;
        }
        case 5: {
          const target = pickRoom();
          c = {
            label: "presence",
            method: rng.pick(["GET", "GET", "POST", "DELETE"]),
            path: `/api/rooms/${segment(target.id)}/presence`,
            headers: auth,
            expect: "either",
            route: "presence",
          };
          if (c.method === "GET") c.expect = authed && target.valid && target.id !== "" ? "ok" : target.id === "" || target.id === ".." ? "either" : "refuse";
          break;
        }
        case 6: {
          const method = rng.pick(["GET", "GET", "POST", "PUT", "DELETE", "PATCH"]);
          c = {
            label: "health",
            method,
            path: `/api/health${rng.pick(["", "?x=<script>", "?__proto__=1", "/../health"])}`,
            headers: rng.chance(0.5) ? auth : {},
            ...(method === "GET" ? {} : { body: "{}" }),
            expect: method === "GET" ? "ok" : "refuse",
            route: "health",
          };
          break;
        }
        default: {
          const path = rng.pick([
            `/api/zz-${randomAscii(rng, 10).replace(/[^A-Za-z0-9]/g, "")}`,
            "/api/",
            "/api/%00",
            `/api/auth/zz-nope-${n}`,
            `/api/rooms/${room}/zz-nope`,
            `/api/rooms/${room}/messages/zz/nope/deeper`,
            "/api/%E0%A4%A",
            "/api/<script>alert(1)</script>",
            "/parties/room",
            `/parties/zz-nope/${room}`,
            `/parties/room/${room}`,
            `/parties/room/${encodeURIComponent("<script>")}`,
            `/parties/room/${room}?ticket=${encodeURIComponent(rng.pick(HOSTILE_TICKETS))}`,
            `/parties/room/${room}?ticket=${"A".repeat(43)}&token=${encodeURIComponent(token)}`,
          ]);
          const isParties = path.startsWith("/parties/room/");
          c = {
            label: "unknown",
            method: rng.pick(["GET", "POST", "PUT", "DELETE"]),
            path,
            headers: isParties && rng.chance(0.5) ? { ...auth, upgrade: "websocket" } : auth,
            expect: "refuse",
            route: isParties ? "parties" : "unknown",
          };
          // A real upgrade to a real room is not hostile; it is tested elsewhere.
          if (isParties && c.headers.upgrade && path.endsWith(room) && c.method === "GET" && authed) {
            c.headers = auth;
          }
        }
      }

      const res = await api(c.path, { method: c.method, headers: c.headers, ...(c.body === undefined ? {} : { body: c.body }) });
      const what = `#${n} ${c.label} ${c.method} ${c.path.slice(0, 120)} ${c.body === undefined ? "" : c.body.slice(0, 120)}`;
      if (res.status >= 500) {
        failures.push(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
        continue;
      }
      if (res.status === 101) {
        failures.push(`${what}: opened a socket`);
        res.webSocket?.accept();
        res.webSocket?.close();
        continue;
      }
      if (res.status >= 400) {
        if (c.expect === "ok") failures.push(`${what}: expected 2xx, got ${res.status} ${(await res.clone().text()).slice(0, 200)}`);
        try {
          const error = await expectContractError(res, what);
          if (c.send?.kind === "valid" && !["rate_limited", "duplicate"].includes(error.code)) {
            failures.push(`${what}: a valid post was refused with ${error.code}: ${error.message}`);
          }
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
        continue;
      }
      if (c.expect === "refuse") {
        failures.push(`${what}: expected a refusal, got ${res.status} ${(await res.clone().text()).slice(0, 200)}`);
      }
      if (res.status === 204) {
        const rest = await res.text();
        if (rest !== "") failures.push(`${what}: 204 with a body`);
        const problem = c.check?.(204, null) ?? null;
        if (c.route !== "other") failures.push(`${what}: unexpected 204`);
        else if (problem && !problem.startsWith("expected keys")) failures.push(`${what}: ${problem}`);
        continue;
      }
      expect(res.headers.get("content-type") ?? "", what).toMatch(/^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      switch (c.route) {
        case "auth":
          expect(body, what).toEqual({ token: expect.any(String), user: { id: expect.any(String), name: expect.any(String), kind: "member" } });
          break;
        case "history": {
          expect(Object.keys(body).sort(), what).toEqual(["messages", "nextBefore"]);
          expect(Array.isArray(body.messages), what).toBe(true);
          expect(body.nextBefore === null || typeof body.nextBefore === "number", `${what}: nextBefore`).toBe(true);
          const seqs = (body.messages as Message[]).map((m) => m.seq);
          expect(seqs, what).toEqual([...seqs].sort((a, b) => a - b));
          break;
        }
        case "presence":
          expect(body, what).toEqual({ online: expect.any(Array) });
          break;
        case "health":
          expect(body, what).toMatchObject({ status: "ok", version: expect.any(String), checks: { d1: expect.anything(), redis: expect.anything() } });
          break;
        case "post": {
          const message = (body as { message: Message }).message;
          const v = c.send;
          if (v === undefined) break; // another (odd but valid) room
          if (v.kind === "invalid" || v.kind === "other") {
            failures.push(`${what}: an invalid post was stored: ${JSON.stringify(message).slice(0, 200)}`);
            break;
          }
          const cid = message.clientId ?? "";
          const problem = storedTextProblem(message.text);
          if (problem) failures.push(`${what}: stored text ${problem}`);
          if (res.status === 201) {
            if (posted.has(cid)) failures.push(`${what}: a repeated clientId stored a second message`);
            posted.set(cid, { id: message.id, seq: message.seq, text: message.text, verdict: v });
            verdicts.set(cid, v);
            if (v.kind === "valid" && message.text !== v.text) failures.push(`${what}: stored ${JSON.stringify(message.text)} for ${JSON.stringify(v.text)}`);
            if (v.kind === "ambiguous" && !v.texts.includes(message.text)) failures.push(`${what}: stored unexpected text ${JSON.stringify(message.text.slice(0, 80))}`);
          } else if (res.status === 200) {
            const first = posted.get(cid);
            if (!first || first.id !== message.id) failures.push(`${what}: 200 for a clientId never stored before`);
          } else {
            failures.push(`${what}: unexpected status ${res.status}`);
          }
          break;
        }
        case "other": {
          const problem = c.check?.(res.status, body) ?? null;
          if (problem) failures.push(`${what}: ${problem}`);
          break;
        }
        default:
          failures.push(`${what}: unexpected ${res.status} from an unknown route`);
      }
    }
    expect(failures).toEqual([]);

    const history = await fullHistory(room, token);
    expectContiguous(history);
    expect(history.map((m) => [m.clientId, m.id, m.seq])).toEqual(
      [...posted.entries()].sort((a, b) => a[1].seq - b[1].seq).map(([cid, p]) => [cid, p.id, p.seq]),
    );
    for (const m of history) expect(storedTextProblem(m.text), `seq ${m.seq}`).toBeNull();

    // The victim room: contiguous, edits as accepted, deletions blank, nothing invalid.
    const victimHistory = await fullHistory(victim.id, token);
    expectContiguous(victimHistory);
    for (const m of victimHistory) {
      if (m.deletedAt !== null) expect(m.text, `deleted seq ${m.seq}`).toBe("");
      else {
        expect(storedTextProblem(m.text), `victim seq ${m.seq}: ${JSON.stringify(m.text.slice(0, 80))}`).toBeNull();
        if (victim.edits.has(m.id)) expect(m.text).toBe(victim.edits.get(m.id));
      }
      expect(victim.deleted.has(m.id), `seq ${m.seq} deleted`).toBe(m.deletedAt !== null);
    }

    // The room still serves a normal client.
    const { socket, welcome } = await connect(room, "after-rest", "After");
    expect(welcome.lastSeq).toBe(history.length);
    socket.send({ type: "send", clientId: "after-rest-1", text: "still fine" });
    expect((await socket.next("ack")).seq).toBe(history.length + 1);
    socket.close();
    console.log(`REST fuzz: ${REST_REQUESTS} requests, ${history.length} messages stored`);
  }, 180_000);

  it("serves __proto__, constructor and toString as ordinary room ids, to members only", async () => {
    await ensureUsers(["odd-rooms"]);
    const token = await tokenFor("odd-rooms");
    const outsider = await tokenFor("outsider");
    for (const room of ["__proto__", "constructor", "toString"]) {
      const created = await env.ROOM.get(env.ROOM.idFromName(room)).create(
        { id: room, kind: "group", title: room, createdBy: "odd-rooms", createdAt: new Date().toISOString() },
        [{ id: "odd-rooms", name: "odd-rooms", role: "admin" }],
      );
      expect(created.ok, room).toBe(true);
      const clientId = `odd-${crypto.randomUUID()}`;
      const post = await api(`/api/rooms/${room}/messages`, { method: "POST", token, json: { clientId, text: `in ${room}` } });
      expect(post.status, room).toBe(201);
      const { message } = (await post.json()) as { message: Message };
      expect(message.roomId, room).toBe(room);
      const res = await api(`/api/rooms/${room}/messages?limit=100`, { token });
      expect(res.status, room).toBe(200);
      const page = (await res.json()) as { messages: Message[] };
      expect(page.messages.at(-1), room).toEqual(message);
      const ws = await openSocket(room, token);
      expect(ws.status, room).toBe(101);
      ws.webSocket!.accept();
      ws.webSocket!.close(1000, "bye");

      const refused = await api(`/api/rooms/${room}/messages`, { token: outsider });
      expect(refused.status, room).toBe(403);
      await expectContractError(refused, `${room} as an outsider`);
    }
  });

  it("refuses a dev login whose name contains control characters or lone surrogates", async () => {
    for (const name of ["Eve\u0000", "Eve\u001B[31m", "Eve\u007F", "Eve\uD800", "\uDFFFEve"]) {
      const res = await api("/api/auth/dev", { method: "POST", json: { userId: "eve", name } });
      expect(res.status, JSON.stringify(name)).toBe(400);
      await expectContractError(res, JSON.stringify(name));
    }
  });

  it("refuses a group title with control characters or lone surrogates", async () => {
    await ensureUsers(["titler", "alice"]);
    const token = await tokenFor("titler");
    const titles = ["Team\u0000", "Team\u001B[31m", "Team\u007F", "Team\uD800", "\uDFFFTeam"];
    const answers: Record<string, number> = {};
    for (const title of titles) {
      const res = await api("/api/rooms/group", { method: "POST", token, json: { title, members: ["alice"] } });
      answers[JSON.stringify(title)] = res.status;
      if (res.status >= 400) await expectContractError(res, JSON.stringify(title));
    }
    expect(answers).toEqual(Object.fromEntries(titles.map((t) => [JSON.stringify(t), 400])));
  });

  it("refuses a visitor name with control characters or lone surrogates", async () => {
    for (const name of ["Guest\u0000", "Guest\u001B[2J", "Guest\uD800"]) {
      const res = await api("/api/auth/visitor", { method: "POST", json: { name } });
      expect(res.status, JSON.stringify(name)).toBe(400);
      await expectContractError(res, JSON.stringify(name));
    }
  });

  it("refuses a socket upgrade from a foreign Origin with 403 and opens no socket", async () => {
    const room = await uniqueRoom("origin", ["origin-user"]);
    const token = await tokenFor("origin-user");
    for (const origin of ["https://evil.example", "null", "http://localhost.evil.example", "http://127.0.0.1.evil.example:8787"]) {
      const res = await openSocket(room, token, { origin });
      expect(res.status, origin).toBe(403);
      expect(res.webSocket, origin).toBeNull();
      await expectContractError(res, origin);
    }
  });

  it("answers a socket upgrade to a malformed room id with 400 and opens no socket", async () => {
    const token = await tokenFor("upgrader");
    for (const id of ["a".repeat(65), "room%20id", "%3Cscript%3E", "%F0%9F%98%80"]) {
      const res = await openSocket(id, token);
      expect(res.status, id).toBe(400);
      expect(res.webSocket, id).toBeNull();
      await expectContractError(res, id);
    }
  });

  it("answers ?ticket= garbage on socket upgrades with 401 and opens no socket, a spent ticket too", async () => {
    const room = await uniqueRoom("ticket-garbage", ["ticket-user"]);
    const token = await tokenFor("ticket-user");
    const rng = new Rng(FUZZ_SEED ^ 0x71c4e7);
    const spent = ((await (await api("/api/auth/ticket", { method: "POST", token })).json()) as { ticket: string }).ticket;
    const used = await openSocket(room, null, {}, `ticket=${spent}`);
    expect(used.status).toBe(101);
    used.webSocket!.accept();
    used.webSocket!.close();
    const queries = [
      ...HOSTILE_TICKETS.map((t) => `ticket=${encodeURIComponent(t)}`),
      `ticket=${spent}`,
      `ticket=${spent.toLowerCase()}`,
      `ticket=${spent}x`,
      `ticket=${spent.slice(1)}`,
      `ticket=${"A".repeat(43)}&ticket=${spent}`,
      `ticket=${encodeURIComponent(spent + "\u0000")}`,
      `ticket=${"A".repeat(43)}&token=${encodeURIComponent(token)}`,
      "ticket",
      "ticket=%E0%A4%A",
      ...Array.from({ length: 100 }, () => `ticket=${encodeURIComponent(randomAscii(rng, rng.pick([10, 43, 60])))}`),
    ];
    for (const query of queries) {
      const res = await openSocket(room, null, {}, query);
      expect(res.status, query.slice(0, 80)).toBe(401);
      expect(res.webSocket, query.slice(0, 80)).toBeNull();
      await expectContractError(res, query.slice(0, 80));
    }
  });

  it("answers a plain GET on the socket route with 400 in the contract's error shape", async () => {
    const res = await api(`/parties/room/${uniqueId("plain-get")}`);
    expect(res.status).toBe(400);
    await expectContractError(res, "plain GET");
  });
});
