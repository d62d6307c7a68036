/**
 * Email as a notification channel: an instant email a minute after the notification (if the
 * user is still away from every socket, has not read it, and their room has not had one in
 * 10 minutes), and the daily digest of what is still unread, grouped by room. Both go through
 * the events queue; each email's id is its idempotency key (the user's object remembers what
 * was sent), so a retried message sends nothing twice.
 */
import type { Bindings } from "../env";
import { log } from "../lib/log";
import { userStub } from "../user/User";
import { composeDigest, composeInstant, type DigestRoom, type MailNotification } from "./compose";
import { sendEmail } from "./email";
import type { DigestMessage, DigestsMessage, EmailMessage, EventMessage } from "./events";
import { getPreferences } from "./preferences";
import { sendAll } from "./send";

/** The daily digest's cron (wrangler.toml [triggers]): 08:07 UTC. */
export const DIGEST_CRON = "7 8 * * *";

/** How long an instant email waits for the user to come back and see the notification. */
export const INSTANT_DELAY_S = 60;
/** Users a digest run reaches per queue message. */
export const DIGEST_PAGE = 500;
/** Notifications one digest lists at most (the rest: "and N more" is the app's job). */
const DIGEST_MAX = 200;

/** Queues the instant emails of notifications just written (the caller filtered on preferences). */
export async function queueInstant(env: Bindings, list: { id: string; userId: string }[]): Promise<void> {
  await sendAll(
    env.EVENTS,
    list.map((n) => ({ body: { kind: "email", notificationId: n.id, userId: n.userId } satisfies EmailMessage, delaySeconds: INSTANT_DELAY_S })),
  );
}

interface Row {
  title: string;
  body: string;
  room_id: string | null;
  created_at: string;
  read_at: string | null;
  email: string | null;
}

export async function instantEmail(env: Bindings, { notificationId, userId }: EmailMessage): Promise<void> {
  const row = await env.DB.prepare(
    `SELECT n.title, n.body, n.room_id, n.created_at, n.read_at, u.email FROM notifications n JOIN users u ON u.id = n.user_id
     WHERE n.id = ? AND n.user_id = ?`,
  )
    .bind(notificationId, userId)
    .first<Row>();
  // Deleted, already read, or nowhere to send: nothing to do.
  if (!row || row.read_at !== null || !row.email) return;
  if ((await getPreferences(env.DB, userId)).email !== "instant") return;
  const user = userStub(env, userId);
  const verdict = await user.claimEmail(userId, row.room_id ?? "", notificationId);
  if (verdict !== "take") {
    log.info({ msg: "instant email not sent", userId, reason: verdict });
    return;
  }
  const n: MailNotification = { title: row.title, body: row.body, roomId: row.room_id, createdAt: row.created_at };
  await sendEmail(env, { id: notificationId, to: row.email, userId, headers: {}, ...(await composeInstant(env, userId, n)) });
  await user.markEmailSent(userId, notificationId);
}

/** The daily cron: one queue message starts the run, which pages through the users who chose a digest. */
export async function startDigests(env: Bindings, scheduledTime: number): Promise<void> {
  const day = new Date(scheduledTime).toISOString().slice(0, 10);
  await env.EVENTS.send({ kind: "digests", day, since: new Date(scheduledTime - 24 * 3600_000).toISOString() } satisfies DigestsMessage);
}

export async function digestPage(env: Bindings, body: DigestsMessage): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT p.user_id AS id FROM notification_preferences p JOIN users u ON u.id = p.user_id
     WHERE p.email = 'daily' AND u.email IS NOT NULL AND p.user_id > ? ORDER BY p.user_id LIMIT ?`,
  )
    .bind(body.after ?? "", DIGEST_PAGE)
    .all<{ id: string }>();
  if (results.length === DIGEST_PAGE) await env.EVENTS.send({ ...body, after: results.at(-1)!.id } satisfies DigestsMessage);
  await sendAll<EventMessage>(
    env.EVENTS,
    results.map((r) => ({ body: { kind: "digest", userId: r.id, day: body.day, since: body.since } satisfies DigestMessage })),
  );
}

export async function digestEmail(env: Bindings, { userId, day, since }: DigestMessage): Promise<void> {
  const id = `digest_${userId}_${day}`;
  const user = userStub(env, userId);
  if (await user.emailSent(userId, id)) return;
  const address = await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(userId).first<{ email: string | null }>();
  if (!address?.email || (await getPreferences(env.DB, userId)).email !== "daily") return;
  const { results } = await env.DB.prepare(
    `SELECT n.title, n.body, n.room_id, n.created_at, r.title AS room_title, r.kind AS room_kind
     FROM notifications n LEFT JOIN rooms r ON r.id = n.room_id
     WHERE n.user_id = ? AND n.read_at IS NULL AND n.created_at >= ? ORDER BY n.seq LIMIT ?`,
  )
    .bind(userId, since, DIGEST_MAX)
    .all<Row & { room_title: string | null; room_kind: string | null }>();
  if (results.length === 0) return;
  const rooms = new Map<string, DigestRoom>();
  for (const r of results) {
    const key = r.room_id ?? "";
    const title = r.room_id === null ? "Announcements" : r.room_kind === "direct" ? `Direct messages: ${r.title}` : (r.room_title ?? "A conversation");
    const group = rooms.get(key) ?? { roomId: r.room_id, title, items: [] };
    group.items.push({ title: r.title, body: r.body, roomId: r.room_id, createdAt: r.created_at });
    rooms.set(key, group);
  }
  await sendEmail(env, { id, to: address.email, userId, headers: {}, ...(await composeDigest(env, userId, [...rooms.values()])) });
  await user.markEmailSent(userId, id);
}
