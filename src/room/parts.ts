/** The pieces a Room is made of, shared by the modules that act on it. */
import type { Config } from "../config";
import type { Bindings } from "../env";
import type { RoomTopics } from "../topics";
import type { AttachmentRef, ErrorCode } from "../protocol";
import type { Archive } from "./archive";
import type { Connections } from "./connections";
import type { Limits, LimitResult } from "../limits";
import type { Flusher } from "./flusher";
import type { Guards } from "./guards";
import type { History } from "./history";
import type { Membership } from "./membership";
import type { Outbox } from "./outbox";
import type { ReadPositions } from "./reads";
import type { StatsReporter } from "./stats";
import type { Receipts } from "./receipts";
import type { RoomEvents } from "./events";
import type { UnreadReports } from "./unread";
import type { MessageStore } from "./store";
import type { Typing } from "./typing";
import type { MessageWriter } from "./writer";

export interface RoomParts {
  ctx: DurableObjectState;
  env: Bindings;
  config: Config;
  store: MessageStore;
  writer: MessageWriter;
  archive: Archive;
  history: History;
  flusher: Flusher;
  connections: Connections;
  outbox: Outbox;
  typing: Typing;
  membership: Membership;
  reads: ReadPositions;
  receipts: Receipts;
  files: Files;
  /** Per-user budgets (src/limits/): sends. */
  limits: Limits;
  guards: Guards;
  topics: RoomTopics;
  /** Counters for the admin stats (src/admin/stats.ts). */
  stats: StatsReporter;
  /** The outbox of events for webhooks and notifications (src/room/events.ts). */
  events: RoomEvents;
  /** Unread counts for members with a device connected. */
  unread: UnreadReports;
}

/** Uploaded files as the room uses them (`src/attachments/` keeps them). */
export interface Files {
  /** Claims uploads of this owner in this room for one send (again for a resend of it). */
  claim(roomId: string, ownerId: string, clientId: string, ids: string[]): Promise<RoomResult<AttachmentRef[]>>;
  /** Removes files a deleted message named. */
  drop(ids: string[]): Promise<void>;
}

/** What a refusal may add: when to try again, and the budget behind it (for REST headers). */
export interface Refusal {
  retryAfter?: number;
  limit?: LimitResult;
}

/** What room RPC methods return: errors travel as values, since thrown errors lose their code. */
export type RoomResult<T> = { ok: true; value: T } | ({ ok: false; code: ErrorCode; message: string } & Refusal);

export const ok = <T>(value: T) => ({ ok: true, value }) as const;
export const fail = (code: ErrorCode, message: string, refusal: Refusal = {}) => ({ ok: false, code, message, ...refusal }) as const;
