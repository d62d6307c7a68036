/**
 * The visitor's identity with the chat: a visitor token and their room, kept in the host page's
 * localStorage under a key of its own (one per chat server), so the conversation survives
 * reloads and page changes on the site. Tokens are short-lived (VISITOR_TOKEN_TTL_S, 2 h by
 * default): the widget renews one once half its life is gone, and a visitor who was away longer
 * than a token lives starts a new conversation.
 */
import { renewVisitorToken, tokenClaims, visitorLogin } from "../../src/client";

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
  const { iat, exp } = tokenClaims(token) ?? {};
  if (typeof exp !== "number") return null;
  return { iat: typeof iat === "number" ? iat * 1000 : exp * 1000 - 7_200_000, exp: exp * 1000 };
}

/** A new visitor and their room (the client's `visitorLogin`). */
export async function startVisit(api: string, name: string): Promise<VisitorSession> {
  const res = await visitorLogin(api, name);
  return { token: res.token, roomId: res.roomId, user: { id: res.user.id, name: res.user.name }, seen: 0 };
}

/** A fresh token for the same visitor (so the same room). */
export async function renewToken(api: string, token: string): Promise<string> {
  return (await renewVisitorToken(api, token)).token;
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
