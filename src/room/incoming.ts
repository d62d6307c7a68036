/**
 * What every frame from a room socket passes before a handler sees it, on the room's own sockets
 * and on its shards' alike (src/shard/): the size limit, text only, the per-socket frame budget
 * (pings exempt: they are what keeps a quiet socket open) and the frame schema.
 */
import { frameBytes } from "../lib/frame-bytes";
import { MAX_FRAME_BYTES, parseClientFrame, type ClientFrame } from "../protocol";
import type { BudgetActions, FrameBudget } from "./flood";

export interface ScreenActions extends BudgetActions {
  /** The frame is over MAX_FRAME_BYTES: the socket is closed with 1009. */
  tooLarge: () => void;
}

/** The frame to handle, or null once the socket has been told why not (or closed). */
export function screenFrame(ws: WebSocket, data: string | ArrayBuffer, budget: FrameBudget, act: ScreenActions): ClientFrame | null {
  if (frameBytes(data) > MAX_FRAME_BYTES) {
    act.tooLarge();
    return null;
  }
  if (typeof data !== "string") {
    act.tell({ type: "error", code: "bad_request", message: "frames must be text (JSON)" });
    return null;
  }
  const parsed = parseClientFrame(data);
  if (!(parsed.ok && parsed.frame.type === "ping") && !budget.admit(ws, act)) return null;
  if (!parsed.ok) {
    const { code, message, clientId } = parsed;
    act.tell({ type: "error", code, message, ...(clientId ? { clientId } : {}) });
    return null;
  }
  return parsed.frame;
}
