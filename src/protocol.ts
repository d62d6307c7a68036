/**
 * The wire protocol: every frame a client may send, every frame the server sends, and the
 * shared limits. Imported by the Worker, the Room Durable Object and the browser client, so
 * both ends parse and build frames from the same definitions.
 */
// zod/mini rather than classic zod: the same core (checks, parsing, messages), with functions
// instead of methods, so a bundle keeps only the schemas it uses. The browser client uses none,
// and carries no zod. The Worker's other schemas are zod/mini too (src/lib/zod.ts).
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** User ids (a token's `sub`) follow the same rule as room ids. */
export const USER_ID_PATTERN = ROOM_ID_PATTERN;
export const MAX_FRAME_BYTES = 64 * 1024;
export const DEFAULT_MAX_TEXT = 4000;
export const RECENT_ON_WELCOME = 50;
/** How many of the users online a welcome lists. */
export const WELCOME_ONLINE_LIMIT = 100;
export const SYNC_PAGE = 200;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;
export const TYPING_TIMEOUT_MS = 3000;
/** The exact heartbeat strings; the room answers them without waking from hibernation. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  /** An upload whose bytes are not an allowed type, or not the type it was declared as. */
  unsupported_type: 415,
  duplicate: 409,
  rate_limited: 429,
  internal: 500,
  /** A dependency the request needs (Redis, for limits that fail closed) is not answering. */
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The code for an HTTP status that came without one (e.g. from a proxy or the platform). */
export function codeForStatus(status: number): ErrorCode {
  const codes: Record<number, ErrorCode> = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    429: "rate_limited",
    503: "unavailable",
  };
  return codes[status] ?? (status >= 500 ? "internal" : "bad_request");
}

// C0 controls other than tab, newline and carriage return, plus DEL: never valid in chat text.
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export const isRoomId = (id: string) => ROOM_ID_PATTERN.test(id);
export const isUserId = (id: string) => USER_ID_PATTERN.test(id);

/** Names and titles: `min..max` characters once trimmed, well-formed, on one line, no controls. */
export const isPlainLine = (s: string, max: number) =>
  s.length >= 1 && s.length <= max && s.isWellFormed() && !CONTROL_CHARS.test(s) && !/[\n\r\t]/.test(s);

export const isDisplayName = (name: string) => isPlainLine(name, 64);

/**
 * Builds one schema. Marked side-effect free so a bundle that never uses the schema drops it,
 * and zod with it: esbuild honours that mark only within a file, not on zod's own functions.
 * Sets what classic zod sets when its first schema is built, unless already set: English
 * messages, and the memoizer (reference cycles) that object and array schemas pick up when built.
 */
/* @__NO_SIDE_EFFECTS__ */
function schema<T>(build: () => T): T {
  if (!z.config().localeError) z.config(en());
  if (!z.config().memoizer) z.config({ memoizer: z.memoizer() });
  return build();
}

export const displayNameSchema = schema(() =>
  z.string().check(z.trim(), z.refine(isDisplayName, "name must be 1-64 characters, with no control characters")),
);

export const titleSchema = schema(() =>
  z
    .string()
    .check(z.trim(), z.refine((t) => isPlainLine(t, 100), "title must be 1-100 characters, with no control characters")),
);

export const clientIdSchema = schema(() =>
  z
    .string()
    .check(
      z.minLength(1, "clientId must not be empty"),
      z.maxLength(100, "clientId is at most 100 characters"),
      z.refine((s) => !CONTROL_CHARS.test(s) && s.isWellFormed(), "clientId has invalid characters"),
    ),
);

export const seqSchema = schema(() => z.number().check(z.int(), z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER)));

/** Ids and emoji: 1..max characters. */
const shortString = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/** Raw text as it arrives; `checkText` applies trimming and the configurable length limit. */
const rawText = schema(() => z.string().check(z.maxLength(1_000_000)));

export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

export const sendInput = schema(() =>
  z.strictObject({
    clientId: clientIdSchema,
    text: rawText,
    replyTo: z.nullish(shortString(100)),
    attachments: z.optional(
      z.array(shortString(100)).check(z.maxLength(MAX_ATTACHMENTS_PER_MESSAGE, `at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`)),
    ),
  }),
);
export type SendInput = z.infer<typeof sendInput>;

export const clientFrame = schema(() =>
  z.discriminatedUnion("type", [
    z.extend(sendInput, { type: z.literal("send") }),
    z.strictObject({ type: z.literal("typing"), on: z.boolean() }),
    z.strictObject({ type: z.literal("read"), seq: seqSchema }),
    z.strictObject({ type: z.literal("sync"), after: seqSchema }),
    z.strictObject({ type: z.literal("edit"), id: shortString(100), text: rawText }),
    z.strictObject({ type: z.literal("delete"), id: shortString(100) }),
    z.strictObject({
      type: z.literal("react"),
      id: shortString(100),
      emoji: shortString(32),
      on: z.boolean(),
    }),
    z.strictObject({ type: z.literal("presence"), status: z.enum(["online", "away"]) }),
    z.strictObject({ type: z.literal("ping") }),
  ]),
);
export type ClientFrame = z.infer<typeof clientFrame>;

/** What a user socket (/parties/user/:userId) may send: its device's status, and heartbeats. */
export const userClientFrame = schema(() =>
  z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("presence"), status: z.enum(["online", "away"]) }),
    z.strictObject({ type: z.literal("ping") }),
  ]),
);
export type UserClientFrame = z.infer<typeof userClientFrame>;

export type TextCheck = { ok: true; text: string } | { ok: false; message: string };

/** Trims and checks message text: 1..max characters (code points), well-formed, no controls. */
export function checkText(raw: string, max = DEFAULT_MAX_TEXT): TextCheck {
  if (!raw.isWellFormed()) return { ok: false, message: "text is not valid Unicode" };
  if (CONTROL_CHARS.test(raw)) return { ok: false, message: "text contains control characters" };
  const text = raw.trim();
  if (text.length === 0) return { ok: false, message: "text must not be empty" };
  // Code points, not UTF-16 units, so an emoji counts as one character.
  if (text.length > max && countCodePoints(text) > max) {
    return { ok: false, message: `text is longer than ${max} characters` };
  }
  return { ok: true, text };
}

function countCodePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Human-readable summary of a zod failure, for the `message` of an error. */
export function describeIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const path = issue.path.join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

export type ParsedFrame<F = ClientFrame> =
  | { ok: true; frame: F }
  | { ok: false; code: ErrorCode; message: string; clientId?: string };

/** Parses one incoming room socket frame. Never throws. */
export const parseClientFrame = (data: string): ParsedFrame => parseFrame(clientFrame, data);

/** Parses one incoming user socket frame. Never throws. */
export const parseUserFrame = (data: string): ParsedFrame<UserClientFrame> => parseFrame(userClientFrame, data);

function parseFrame<F>(
  frames: z.ZodMiniDiscriminatedUnion<Array<z.ZodMiniObject<{ type: z.ZodMiniLiteral<string> }>>> & z.ZodMiniType<F>,
  data: string,
): ParsedFrame<F> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, code: "bad_request", message: "frame is not valid JSON" };
  }
  const result = frames.safeParse(json);
  if (result.success) return { ok: true, frame: result.data };
  const clientId =
    json && typeof json === "object" && "clientId" in json && typeof json.clientId === "string"
      ? json.clientId.slice(0, 100)
      : undefined;
  const type = json && typeof json === "object" && "type" in json ? json.type : undefined;
  const known = frames.def.options.some((o) => o.shape.type.def.values[0] === type);
  return {
    ok: false,
    code: "bad_request",
    message: known ? describeIssue(result.error) : `unknown frame type`,
    ...(clientId === undefined ? {} : { clientId }),
  };
}

// ---- What the server sends -------------------------------------------------------------

export interface UserRef {
  id: string;
  name: string;
}
/** Service-wide roles (not a room's roles): `staff` answer website visitors, `admin` runs the service. */
export const SERVICE_ROLES = ["staff", "admin"] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
export const isServiceRole = (role: unknown): role is ServiceRole => SERVICE_ROLES.includes(role as ServiceRole);

export interface Identity extends UserRef {
  kind: "member" | "visitor";
  /** From the token's `roles` claim and the STAFF_USER_IDS / ADMIN_USER_IDS settings. */
  roles?: ServiceRole[];
}

/**
 * A quote of the message replied to, read from that message whenever the reply is read: an
 * edit changes the excerpt, a delete empties it and sets `deleted`.
 */
export interface ReplyRef {
  id: string;
  author: UserRef;
  excerpt: string;
  deleted?: boolean;
}

/** How long a quote's excerpt is. */
export const EXCERPT_LENGTH = 140;

/**
 * The quote of message `id` given that message as it is now (null: it no longer exists). The
 * server quotes this way, and a client that holds replies applies it on every `updated` frame
 * of a quoted message, so its quotes change as the server's do.
 */
export function quoteOf(id: string, target: { author: UserRef; text: string; deletedAt: string | null } | null): ReplyRef {
  if (target === null) return { id, author: { id: "", name: "" }, excerpt: "", deleted: true };
  const author = { id: target.author.id, name: target.author.name };
  return target.deletedAt ? { id, author, excerpt: "", deleted: true } : { id, author, excerpt: excerptOf(target.text) };
}

/** The start of a text, never cutting an emoji (or any surrogate pair) in half. */
export function excerptOf(text: string): string {
  const cut = text.slice(0, EXCERPT_LENGTH);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export interface AttachmentRef {
  id: string;
  name: string;
  size: number;
  mimeType: string;
  url: string;
  /** Images only: their size in pixels. */
  width?: number;
  height?: number;
}

export interface Message {
  id: string;
  roomId: string;
  seq: number;
  clientId: string | null;
  author: UserRef;
  text: string;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  replyTo: ReplyRef | null;
  attachments: AttachmentRef[];
  reactions: Record<string, string[]>;
  /** How many members other than the author have read it. */
  readBy?: number;
  /** Direct rooms only: how far the other person has got it. */
  status?: DeliveryStatus;
}

export type DeliveryStatus = "sent" | "delivered" | "read";

export type PresenceStatus = "online" | "away" | "offline";
export interface OnlineUser extends UserRef {
  status: Exclude<PresenceStatus, "offline">;
}

export type NotificationKind = "dm" | "mention" | "reply" | "added" | "visitor" | "broadcast";

/** One entry of a user's feed (GET /api/notifications, `notification` frames on the user socket). */
export interface Notification {
  id: string;
  kind: NotificationKind;
  roomId: string | null;
  messageId: string | null;
  title: string;
  body: string;
  createdAt: string;
  readAt: string | null;
}

/** A word the room talks about, with its score: mentions halving in weight every hour. */
export interface Topic {
  word: string;
  score: number;
}

export type ServerFrame =
  | {
      type: "welcome";
      room: { id: string };
      you: Identity;
      lastSeq: number;
      /** At most WELCOME_ONLINE_LIMIT; `onlineCount` counts everyone (GET …/presence lists them). */
      online: OnlineUser[];
      onlineCount: number;
      recent: Message[];
    }
  | { type: "ack"; clientId: string; id: string; seq: number; createdAt: string }
  | { type: "message"; message: Message }
  | { type: "sync"; messages: Message[]; more: boolean }
  | { type: "updated"; message: Message }
  | { type: "typing"; userId: string; name: string; on: boolean }
  /** `onlineCount`: the room's count once this change applies (the welcome's count, kept current). */
  | { type: "presence"; userId: string; name: string; status: PresenceStatus; onlineCount: number }
  | { type: "read"; userId: string; seq: number }
  | { type: "topics"; topics: Topic[] }
  | { type: "notification"; notification: Notification }
  | { type: "unread"; roomId: string; count: number }
  | { type: "error"; code: ErrorCode; message: string; clientId?: string; retryAfter?: number }
  | { type: "batch"; frames: ServerFrame[] };

/** Flattens `batch` frames so clients handle every frame the same way. */
export function unwrapFrame(frame: ServerFrame): ServerFrame[] {
  return frame.type === "batch" ? frame.frames.flatMap(unwrapFrame) : [frame];
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
