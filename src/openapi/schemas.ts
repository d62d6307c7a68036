/**
 * The shapes the API answers with, for the OpenAPI document's `components.schemas`. The routes
 * build their answers from TypeScript types (src/protocol.ts, src/db/); these schemas restate
 * them for clients, and test/openapi.test.ts parses real answers with them so the two cannot
 * drift apart unnoticed. Built on the document's first request only, never at startup.
 */
import { ROLES, ROOM_KINDS, NOTIFICATION_KINDS, EMAIL_MODES } from "../db/schema";
import * as z from "../lib/zod";
import { ERROR_STATUS, SERVICE_ROLES } from "../protocol";
import { WEBHOOK_EVENT_TYPES } from "../webhooks/events";

const timestamp = () => z.string().check(z.describe("ISO-8601 time in UTC"));
const int = () => z.number().check(z.int());

export function responseSchemas() {
  const UserRef = z.object({ id: z.string(), name: z.string() });
  const Identity = z.object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["member", "visitor"]),
    roles: z.optional(z.array(z.enum(SERVICE_ROLES))),
  });
  const ReplyRef = z.object({
    id: z.string(),
    author: UserRef,
    excerpt: z.string().check(z.describe("The start of the quoted message as it is now; empty once it is deleted")),
    deleted: z.optional(z.boolean()),
  });
  const Attachment = z.object({
    id: z.string(),
    name: z.string(),
    size: int(),
    mimeType: z.string(),
    url: z.string().check(z.describe("GET it with a token of a member of the room")),
    width: z.optional(int()),
    height: z.optional(int()),
  });
  const Message = z.object({
    id: z.string(),
    roomId: z.string(),
    seq: int().check(z.describe("Per room: 1, 2, 3, ... with no gaps; a deleted message keeps its seq")),
    clientId: z.nullable(z.string()),
    author: UserRef,
    text: z.string().check(z.describe('"" once deleted')),
    createdAt: timestamp(),
    editedAt: z.nullable(timestamp()),
    deletedAt: z.nullable(timestamp()),
    replyTo: z.nullable(ReplyRef),
    attachments: z.array(Attachment),
    reactions: z.record(z.string(), z.array(z.string())).check(z.describe("Emoji → the ids of the users who reacted with it")),
    readBy: z.optional(int().check(z.describe("How many members other than the author have read it"))),
    status: z.optional(z.enum(["sent", "delivered", "read"]).check(z.describe("Direct rooms only: how far the other person has got it"))),
  });
  const Room = z.object({
    id: z.string(),
    kind: z.enum(ROOM_KINDS),
    title: z.nullable(z.string()),
    role: z.enum(ROLES).check(z.describe("The caller's role in the room")),
    lastMessage: z.nullable(Message),
    unread: int(),
    lastActivityAt: timestamp(),
    slowModeSeconds: int(),
  });
  const Member = z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) });
  const OnlineUser = z.object({ id: z.string(), name: z.string(), status: z.enum(["online", "away"]) });
  const Topic = z.object({ word: z.string(), score: z.number() });
  const Notification = z.object({
    id: z.string(),
    kind: z.enum(NOTIFICATION_KINDS),
    roomId: z.nullable(z.string()),
    messageId: z.nullable(z.string()),
    title: z.string(),
    body: z.string(),
    createdAt: timestamp(),
    readAt: z.nullable(timestamp()),
  });
  const Preferences = z.object({
    inApp: z.boolean(),
    email: z.enum(EMAIL_MODES),
    push: z.boolean(),
    mutedRooms: z.array(z.string()),
  });
  const Presence = z.object({
    id: z.string(),
    status: z.enum(["online", "away", "offline"]),
    lastSeen: z.nullable(timestamp()),
  });
  const SearchResult = z.object({
    message: Message,
    snippet: z.string().check(z.describe("HTML: the matching words in <mark>, everything else escaped")),
  });
  const Webhook = z.object({ id: z.string(), url: z.string(), events: z.array(z.enum(WEBHOOK_EVENT_TYPES)), createdAt: timestamp() });
  const ErrorBody = z.object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]),
      message: z.string().check(z.describe("For people: what was wrong")),
    }),
  });
  const Health = z.object({
    status: z.enum(["ok", "degraded"]),
    version: z.string(),
    checks: z.object({ d1: z.string(), redis: z.string(), auth: z.string() }),
  });

  return {
    UserRef,
    Identity,
    ReplyRef,
    Attachment,
    Message,
    Room,
    Member,
    OnlineUser,
    Topic,
    Notification,
    Preferences,
    Presence,
    SearchResult,
    Webhook,
    ErrorBody,
    Health,
  };
}

export type ResponseSchemas = ReturnType<typeof responseSchemas>;
