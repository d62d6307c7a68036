/**
 * The REST calls and the socket the typed client (src/client/) does not have yet, in one place
 * so that each can be swapped for the client's own once it grows them. Errors are the client's
 * `ChatError`, with the contract's codes. Everything else goes through `ChatClient` as it is.
 */
import PartySocket from "partysocket";
import { ChatError, socketTicket, type RoomSummary } from "../src/client";
import {
  codeForStatus,
  PING,
  PONG,
  unwrapFrame,
  type AttachmentRef,
  type ErrorCode,
  type Identity,
  type Message,
  type Notification,
  type PresenceStatus,
  type ServerFrame,
} from "../src/protocol";

export interface RoomView extends RoomSummary {
  slowModeSeconds?: number;
  lastActivityAt?: string;
}
export type Role = "admin" | "moderator" | "member";
export interface Member {
  id: string;
  name: string;
  role: Role;
}
export interface Preferences {
  inApp: boolean;
  email: "off" | "instant" | "daily";
  push: boolean;
  mutedRooms: string[];
}
export interface Stats {
  connectedClients: number;
  onlineUsers: number;
  typingUsers: number;
  rooms: number;
  activeRooms: number;
  messagesLastHour: number;
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  secret?: string;
  createdAt?: string;
}
export const WEBHOOK_EVENTS = ["message.created", "message.updated", "message.deleted", "member.added", "member.removed"];

const enc = encodeURIComponent;

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ChatError("network", err instanceof Error ? err.message : String(err));
    }
    if (res.ok) return (res.status === 204 || res.status === 202 ? undefined : await res.json()) as T;
    throw await errorOf(res);
  }

  // ---- rooms ----
  rooms(archived = false): Promise<{ rooms: RoomView[] }> {
    return this.call("GET", `/api/rooms?limit=200${archived ? "&archived=true" : ""}`);
  }
  direct(userId: string): Promise<{ room: RoomView }> {
    return this.call("POST", "/api/rooms/direct", { userId });
  }
  updateRoom(roomId: string, patch: { title?: string; slowModeSeconds?: number }): Promise<{ room: RoomView }> {
    return this.call("PATCH", `/api/rooms/${enc(roomId)}`, patch);
  }
  addMember(roomId: string, userId: string): Promise<{ member: Member }> {
    return this.call("POST", `/api/rooms/${enc(roomId)}/members`, { userId });
  }
  setRole(roomId: string, userId: string, role: Role): Promise<{ member: Member }> {
    return this.call("PATCH", `/api/rooms/${enc(roomId)}/members/${enc(userId)}`, { role });
  }
  removeMember(roomId: string, userId: string, successor?: string): Promise<void> {
    const query = successor ? `?successor=${enc(successor)}` : "";
    return this.call("DELETE", `/api/rooms/${enc(roomId)}/members/${enc(userId)}${query}`);
  }
  directory(q: string, limit = 20): Promise<{ users: Identity[] }> {
    return this.call("GET", `/api/users?q=${enc(q)}&limit=${limit}`);
  }
  presence(userIds: string[]): Promise<{ users: { id: string; status: PresenceStatus; lastSeen: string | null }[] }> {
    return this.call("GET", `/api/presence?userIds=${userIds.map(enc).join(",")}`);
  }

  // ---- messages (REST, so a refusal reaches the person who asked) ----
  edit(roomId: string, id: string, text: string): Promise<{ message: Message }> {
    return this.call("PATCH", `/api/rooms/${enc(roomId)}/messages/${enc(id)}`, { text });
  }
  remove(roomId: string, id: string): Promise<{ message: Message }> {
    return this.call("DELETE", `/api/rooms/${enc(roomId)}/messages/${enc(id)}`);
  }
  react(roomId: string, id: string, emoji: string, on: boolean): Promise<{ message: Message }> {
    return this.call(on ? "PUT" : "DELETE", `/api/rooms/${enc(roomId)}/messages/${enc(id)}/reactions/${enc(emoji)}`);
  }

  /** Uploads with progress (fetch cannot report upload progress; XMLHttpRequest can). */
  upload(roomId: string, file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<AttachmentRef> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", new URL(`/api/rooms/${enc(roomId)}/attachments?name=${enc(file.name)}`, this.baseUrl));
      xhr.setRequestHeader("authorization", `Bearer ${this.token}`);
      xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        const body: unknown = safeJson(xhr.responseText);
        if (xhr.status === 201) return resolve((body as { attachment: AttachmentRef }).attachment);
        const error = errorBody(body);
        reject(new ChatError(error?.code ?? codeForStatus(xhr.status), error?.message ?? `HTTP ${xhr.status}`, xhr.status));
      };
      xhr.onerror = () => reject(new ChatError("network", "upload failed"));
      xhr.onabort = () => reject(new ChatError("closed", "upload cancelled"));
      signal?.addEventListener("abort", () => xhr.abort());
      xhr.send(file);
    });
  }

  /** An attachment's bytes (it needs the token, so an <img src> cannot load it by itself). */
  async file(url: string): Promise<Blob> {
    let res: Response;
    try {
      res = await fetch(new URL(url, this.baseUrl), { headers: { authorization: `Bearer ${this.token}` } });
    } catch (err) {
      throw new ChatError("network", err instanceof Error ? err.message : String(err));
    }
    if (!res.ok) throw await errorOf(res);
    return res.blob();
  }

  // ---- notifications ----
  notifications(before?: string, limit = 30): Promise<{ notifications: Notification[]; nextBefore: string | null }> {
    return this.call("GET", `/api/notifications?limit=${limit}${before ? `&before=${enc(before)}` : ""}`);
  }
  readNotification(id: string): Promise<void> {
    return this.call("POST", `/api/notifications/${enc(id)}/read`);
  }
  deleteNotification(id: string): Promise<void> {
    return this.call("DELETE", `/api/notifications/${enc(id)}`);
  }
  preferences(): Promise<Preferences> {
    return this.call("GET", "/api/notifications/preferences");
  }
  setPreferences(patch: Partial<Preferences>): Promise<Preferences> {
    return this.call("PUT", "/api/notifications/preferences", patch);
  }
  vapidKey(): Promise<{ publicKey: string }> {
    return this.call("GET", "/api/push/vapid-public-key");
  }
  subscribePush(subscription: PushSubscriptionJSON): Promise<void> {
    return this.call("POST", "/api/push/subscriptions", subscription);
  }
  unsubscribePush(endpoint: string): Promise<void> {
    return this.call("DELETE", "/api/push/subscriptions", { endpoint });
  }

  // ---- administration ----
  stats(): Promise<Stats> {
    return this.call("GET", "/api/admin/stats");
  }
  webhooks(): Promise<{ webhooks: Webhook[] }> {
    return this.call("GET", "/api/admin/webhooks");
  }
  createWebhook(url: string, events: string[]): Promise<{ webhook: Webhook }> {
    return this.call("POST", "/api/admin/webhooks", { url, events });
  }
  deleteWebhook(id: string): Promise<void> {
    return this.call("DELETE", `/api/admin/webhooks/${enc(id)}`);
  }
  broadcast(title: string, body: string): Promise<void> {
    return this.call("POST", "/api/admin/notifications", { title, body });
  }
}

async function errorOf(res: Response): Promise<ChatError> {
  const error = errorBody(await res.json().catch(() => null));
  const retryAfter = Number(res.headers.get("Retry-After")) || undefined;
  return new ChatError(error?.code ?? codeForStatus(res.status), error?.message ?? `HTTP ${res.status}`, res.status, retryAfter);
}

function errorBody(body: unknown): { code: ErrorCode; message: string } | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const { error } = body as { error: unknown };
  return typeof error === "object" && error !== null && "code" in error ? (error as { code: ErrorCode; message: string }) : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// ---- the user socket --------------------------------------------------------------------

export interface UserSocketHandlers {
  notification(n: Notification): void;
  unread(roomId: string, count: number): void;
  /** The token no longer gets a ticket: the session is over. */
  unauthorized(): void;
}

const HEARTBEAT_MS = 25_000;

/**
 * `/parties/user/:userId`: notifications and unread counts for every device. Reconnects by
 * itself (PartySocket), with a fresh single-use ticket before each connect. Returns `close`.
 */
export function openUserSocket(baseUrl: string, token: string, userId: string, on: UserSocketHandlers): () => void {
  const base = new URL(baseUrl);
  let closed = false;
  const ws = new PartySocket({
    host: base.host,
    protocol: base.protocol === "https:" ? "wss" : "ws",
    party: "user",
    room: userId,
    query: async () => {
      try {
        return { ticket: (await socketTicket(baseUrl, token)).ticket };
      } catch (err) {
        if (err instanceof ChatError && err.code === "unauthorized" && !closed) on.unauthorized();
        throw err;
      }
    },
    minReconnectionDelay: 500 + Math.random() * 1500,
    maxReconnectionDelay: 15_000,
  });
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string" || e.data === PONG) return;
    const frame = safeJson(e.data) as ServerFrame | null;
    if (!frame || typeof frame !== "object" || !("type" in frame)) return;
    for (const f of unwrapFrame(frame)) {
      if (f.type === "notification") on.notification(f.notification);
      else if (f.type === "unread") on.unread(f.roomId, f.count);
    }
  });
  const beat = setInterval(() => ws.readyState === ws.OPEN && ws.send(PING), HEARTBEAT_MS);
  const away = () => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ type: "presence", status: document.hidden ? "away" : "online" }));
  document.addEventListener("visibilitychange", away);
  return () => {
    closed = true;
    clearInterval(beat);
    document.removeEventListener("visibilitychange", away);
    ws.close();
  };
}
