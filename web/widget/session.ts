/**
 * The visitor's identity with the chat: a visitor token and their room, kept in the host page's
 * localStorage under a key of its own (one per chat server), so the conversation survives
 * reloads and page changes on the site. Tokens are short-lived (VISITOR_TOKEN_TTL_S, 2 h by
 * default): the widget renews one once half its life is gone, and a visitor who was away longer
 * than a token lives starts a new conversation.
 */
import { ChatError } from "../../src/client";
import type { ErrorBody } from "../../src/protocol";

export interface VisitorSession {
  token: string;
  roomId: string;
  user: { id: string; name: string };
  /** Highest seq the visitor has had in front of them with the panel open: later ones are unread. */
  seen: number;
}

export class SessionStore {
  private readonly key: string;
  /** When localStorage is unavailable (some privacy modes) the session lasts for the page. */
  private memory: string | null = null;

  constructor(api: string) {
    this.key = `edge-chat.widget:${api}`;
  }

  /** The stored session, or null when there is none or its token has expired. */
  load(): VisitorSession | null {
    let raw: string | null;
    try {
      raw = localStorage.getItem(this.key);
    } catch {
      raw = this.memory;
    }
    try {
      const s = JSON.parse(raw ?? "null") as VisitorSession | null;
      const life = s && typeof s.token === "string" && typeof s.roomId === "string" && s.user ? lifeOf(s.token) : null;
      if (!s || !life || life.exp <= Date.now()) return null;
      return { ...s, seen: typeof s.seen === "number" ? s.seen : 0 };
    } catch {
      return null;
    }
  }

  save(session: VisitorSession): void {
    const raw = JSON.stringify(session);
    try {
      localStorage.setItem(this.key, raw);
    } catch {
      this.memory = raw;
    }
  }

  clear(): void {
    this.memory = null;
    try {
      localStorage.removeItem(this.key);
    } catch {
      // nothing stored
    }
  }
}

/** When a token was issued and when it expires (ms), read without verifying: the server does that. */
export function lifeOf(token: string): { iat: number; exp: number } | null {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { iat?: unknown; exp?: unknown };
    if (typeof claims.exp !== "number") return null;
    const exp = claims.exp * 1000;
    return { iat: typeof claims.iat === "number" ? claims.iat * 1000 : exp - 7_200_000, exp };
  } catch {
    return null;
  }
}

/** `POST /api/auth/visitor`: a new visitor and their room. */
export async function startVisit(api: string, name: string): Promise<VisitorSession> {
  const res = await post<{ token: string; roomId: string; user: { id: string; name: string } }>(`${api}/api/auth/visitor`, { name });
  return { token: res.token, roomId: res.roomId, user: { id: res.user.id, name: res.user.name }, seen: 0 };
}

/** `POST /api/auth/visitor/renew`: a fresh token for the same visitor (so the same room). */
export async function renewToken(api: string, token: string): Promise<string> {
  return (await post<{ token: string }>(`${api}/api/auth/visitor/renew`, undefined, token)).token;
}

async function post<T>(url: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ChatError("network", err instanceof Error ? err.message : String(err));
  }
  const json = (await res.json().catch(() => null)) as (T & Partial<ErrorBody>) | null;
  if (res.ok && json) return json;
  throw new ChatError(json?.error?.code ?? (res.status === 401 ? "unauthorized" : "internal"), json?.error?.message ?? `HTTP ${res.status}`, res.status);
}

/**
 * Why a request to the chat server failed without an answer the page could read. A browser
 * hides the reason, but when the server does answer a request that needs no permission (a
 * no-cors one, whose answer the page cannot read), it is up and refused this site: the page's
 * origin is not in the chat's ALLOWED_ORIGINS, so the preflight was refused and nothing was sent.
 */
export async function explainFailure(api: string): Promise<string> {
  try {
    await fetch(`${api}/api/health`, { mode: "no-cors", cache: "no-store" });
    // For whoever installs the widget; the visitor gets the short version.
    console.warn(`edge-chat widget: ${api} refused requests from ${location.origin}. Add that origin to the chat's ALLOWED_ORIGINS.`);
    return "This chat is not available on this website.";
  } catch {
    return "The chat server cannot be reached. Check your connection and try again.";
  }
}
