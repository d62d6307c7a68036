/** What notification emails say: plain text, with a link to the conversation and one to unsubscribe. */
import type { Bindings } from "../env";
import { publicBaseUrl } from "./email";
import { unsubscribeUrl } from "./email/unsubscribe";

export interface MailNotification {
  title: string;
  body: string;
  roomId: string | null;
  createdAt: string;
}

export interface Composed {
  subject: string;
  text: string;
}

const linkTo = (base: string, roomId: string | null) => (roomId ? `${base}/#${encodeURIComponent(roomId)}` : `${base}/`);

async function footer(env: Bindings, base: string, userId: string, why: string): Promise<string> {
  return `\n--\n${why}\nStop these emails: ${await unsubscribeUrl(env, base, userId)}\n`;
}

export async function composeInstant(env: Bindings, userId: string, n: MailNotification): Promise<Composed> {
  const base = publicBaseUrl(env);
  return {
    subject: n.title,
    text: `${n.title}\n\n${n.body}\n\nOpen the conversation: ${linkTo(base, n.roomId)}\n${await footer(env, base, userId, "You get an email when something needs you and you are not online.")}`,
  };
}

export interface DigestRoom {
  roomId: string | null;
  title: string;
  items: MailNotification[];
}

export async function composeDigest(env: Bindings, userId: string, rooms: DigestRoom[]): Promise<Composed> {
  const base = publicBaseUrl(env);
  const total = rooms.reduce((n, r) => n + r.items.length, 0);
  const sections = rooms.map((r) => {
    const lines = r.items.map((n) => `- ${n.title}: ${n.body}`).join("\n");
    return `${r.title} (${r.items.length})\n${lines}\n${linkTo(base, r.roomId)}`;
  });
  return {
    subject: `${total} unread notification${total === 1 ? "" : "s"} from the last day`,
    text: `What you missed in the last day:\n\n${sections.join("\n\n")}\n${await footer(env, base, userId, "You chose a daily summary by email.")}`,
  };
}
