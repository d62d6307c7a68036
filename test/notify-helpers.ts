import { SELF, env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import type { Notification } from "../src/protocol";
import { BASE, TestSocket, call, tokenFor } from "./helpers";

/** Opens a user socket as `userId` for `target` (its own id unless testing refusals). */
export async function openUserSocket(userId: string, target = userId): Promise<Response> {
  return SELF.fetch(`${BASE}/parties/user/${target}?token=${encodeURIComponent(await tokenFor(userId))}`, {
    headers: { upgrade: "websocket" },
  });
}

export async function userSocket(userId: string): Promise<TestSocket> {
  const res = await openUserSocket(userId);
  if (res.status !== 101) throw new Error(`user socket refused: ${res.status} ${await res.text()}`);
  res.webSocket!.accept();
  return new TestSocket(res.webSocket!);
}

/** Runs the room's alarm until it has nothing left: the flush, then the event outbox into the queue. */
export async function dispatch(roomId: string) {
  while (await runDurableObjectAlarm(env.ROOM.get(env.ROOM.idFromName(roomId))));
}

export async function feedOf(userId: string, query = ""): Promise<{ notifications: Notification[]; nextBefore: number | null }> {
  const res = await call("GET", `/api/notifications${query}`, userId);
  expect(res.status).toBe(200);
  return res.json();
}

/** Waits until `userId`'s feed holds a notification matching `match` (the queue delivers within about a second). */
export async function waitForNotification(userId: string, match: (n: Notification) => boolean, timeoutMs = 8000): Promise<Notification> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await feedOf(userId, "?limit=100")).notifications.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching notification for ${userId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface OutboxEmail {
  id: string;
  to: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
  createdAt: string;
}

/** What the local email provider stored for `to` (GET /api/dev/outbox), newest first. */
export async function outbox(to: string): Promise<OutboxEmail[]> {
  const res = await SELF.fetch(`${BASE}/api/dev/outbox?to=${encodeURIComponent(to)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { emails: OutboxEmail[] }).emails;
}

/** Lets the queue deliver what it holds, so a test can then say that nothing arrived. */
export const settle = (ms = 2500) => new Promise((r) => setTimeout(r, ms));
