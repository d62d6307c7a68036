/// <reference types="node" />
/**
 * Structured logs: one JSON object per line (Workers Logs and `wrangler tail` index the fields),
 * each carrying the context of what caused it: in the Worker the request id (its one `request`
 * line names the user), in a room the request id of the RPC call or of the socket's upgrade, and
 * the room id.
 *
 * Log ids, never secrets or content: no tokens, tickets, message text or query strings (socket
 * URLs carry `?token=`/`?ticket=`).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface LogContext {
  requestId?: string;
  userId?: string;
  roomId?: string;
}

type Fields = { msg: string } & Record<string, unknown>;
type Level = "info" | "warn" | "error";

const context = new AsyncLocalStorage<LogContext>();

/** Errors as their name, message and stack (JSON.stringify would print `{}`). */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, ...(value.cause ? { cause: value.cause } : {}) };
  }
  return value;
}

function emit(level: Level, fields: Fields): void {
  const line = JSON.stringify({ level, ...context.getStore(), ...fields }, replacer);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (fields: Fields) => emit("info", fields),
  warn: (fields: Fields) => emit("warn", fields),
  error: (fields: Fields) => emit("error", fields),
  /** Runs `fn` with `ctx` (on top of the current context) added to every line it logs, across awaits. */
  with<T>(ctx: LogContext, fn: () => T): T {
    return context.run({ ...context.getStore(), ...ctx }, fn);
  },
  /** The current context, to hand on to a Durable Object. */
  context(): LogContext {
    const store = context.getStore();
    return store ? { ...store } : {};
  },
};
