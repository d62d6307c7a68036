/**
 * Signing in and socket credentials. A socket cannot carry an Authorization header, so every
 * connect and reconnect asks the app for a token first (`getToken`, called each time, so an
 * expired token is replaced by whatever the app's sign-in hands out now) and trades it for a
 * single-use ticket, which keeps the token itself out of URLs and logs.
 */
import type { Identity, ServiceRole } from "../protocol";
import { jsonInit, request, urlOf } from "./http";

export interface Session {
  token: string;
  user: Identity;
}

export interface VisitorSession extends Session {
  /** The visitor's private room with the staff. */
  roomId: string;
}

export interface SocketTicket {
  ticket: string;
  /** ISO time; a ticket opens one socket before then. */
  expiresAt: string;
}

/** `POST /api/auth/dev`: only answers where dev mode is on. */
export function devLogin(baseUrl: string, userId: string, name: string, roles?: ServiceRole[]): Promise<Session> {
  return request<Session>(urlOf(baseUrl, "/api/auth/dev"), jsonInit("POST", roles ? { userId, name, roles } : { userId, name }));
}

/** `POST /api/auth/visitor`: an anonymous website visitor, with a private room with the staff. */
export function visitorLogin(baseUrl: string, name: string): Promise<VisitorSession> {
  return request<VisitorSession>(urlOf(baseUrl, "/api/auth/visitor"), jsonInit("POST", { name }));
}

/**
 * `POST /api/auth/visitor/renew`: a fresh token for the same visitor (so the same room), for a
 * visitor token still valid. Renew once half its life is gone; an expired one is refused
 * (`unauthorized`), and its visitor starts a new conversation.
 */
export function renewVisitorToken(baseUrl: string, token: string): Promise<{ token: string }> {
  return request<{ token: string }>(urlOf(baseUrl, "/api/auth/visitor/renew"), { method: "POST", headers: { authorization: `Bearer ${token}` } });
}

/** `POST /api/auth/ticket`: a single-use ticket for one socket, valid for 60 s. */
export function socketTicket(baseUrl: string, token: string): Promise<SocketTicket> {
  return request<SocketTicket>(urlOf(baseUrl, "/api/auth/ticket"), {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
}
