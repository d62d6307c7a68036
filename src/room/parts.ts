/** The pieces a Room is made of, shared by the modules that act on it. */
import type { Config } from "../config";
import type { Bindings } from "../env";
import type { ErrorCode } from "../protocol";
import type { Archive } from "./archive";
import type { Connections } from "./connections";
import type { Flusher } from "./flusher";
import type { History } from "./history";
import type { Membership } from "./membership";
import type { Outbox } from "./outbox";
import type { ReadPositions } from "./reads";
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
}

/** What room RPC methods return: errors travel as values, since thrown errors lose their code. */
export type RoomResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export const ok = <T>(value: T) => ({ ok: true, value }) as const;
export const fail = (code: ErrorCode, message: string) => ({ ok: false, code, message }) as const;
