/**
 * The signed-in session of this tab: who, and the typed client that speaks for them. Set once
 * by `start`; signing out reloads the page, so nothing here is ever torn down piecemeal.
 */
import { computed, signal } from "@preact/signals";
import { ChatClient, type Session } from "../../src/client";
import type { Identity, ServiceRole } from "../../src/protocol";
import { clearSession } from "../session";

export interface AppSession {
  me: Identity;
  client: ChatClient;
}

let current: AppSession | null = null;

/** Service roles: the token's, and what the server says it granted (`welcome.you.roles`). */
export const roles = signal<ServiceRole[]>([]);
export const isAdmin = computed(() => roles.value.includes("admin"));
export const isStaff = computed(() => roles.value.includes("staff"));

export function start(session: Session): AppSession {
  current = {
    me: session.user,
    // The user id files the client's outbox under this person and names their user socket.
    client: new ChatClient({ baseUrl: location.origin, token: session.token, userId: session.user.id }),
  };
  roles.value = session.user.roles ?? [];
  return current;
}

export function app(): AppSession {
  if (!current) throw new Error("not signed in");
  return current;
}

/** Adds roles the server reports for this user (settings such as ADMIN_USER_IDS grant some). */
export function learnRoles(more: ServiceRole[] | undefined): void {
  const missing = (more ?? []).filter((r) => !roles.value.includes(r));
  if (missing.length) roles.value = [...roles.value, ...missing];
}

export function signOut(notice?: string): void {
  clearSession(notice);
  // A fresh page drops every socket, timer and cache of the old session at once.
  location.replace(location.pathname + location.search);
}

export const SESSION_EXPIRED = "Your session has expired. Please sign in again.";
