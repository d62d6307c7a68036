/**
 * edge-chat's typed client for browsers and Node (`edge-chat/client`; docs/client.md):
 * `ChatClient` for REST, `RoomConnection` for a room's socket (pending sends, an outbox that
 * survives reloads, gap-free delivery across reconnects) and `UserConnection` for the user socket.
 */
export type {
  AttachmentRef,
  ClientFrame,
  DeliveryStatus,
  ErrorCode,
  Identity,
  Message,
  Notification,
  NotificationKind,
  OnlineUser,
  PresenceStatus,
  ReplyRef,
  ServerFrame,
  ServiceRole,
  Topic,
  UserRef,
} from "../protocol";
export { quoteOf, unwrapFrame } from "../protocol";
export { devLogin, renewVisitorToken, socketTicket, visitorLogin, type Session, type SocketTicket, type VisitorSession } from "./auth";
export { ChatClient } from "./client";
export { ChatError, isRateLimited, type ClientErrorCode, type RateLimitedError } from "./errors";
export { newClientId, tokenClaims, userIdOfToken } from "./ids";
export { defaultOutboxStore, indexedDbOutboxStore, memoryOutboxStore, type OutboxRecord, type OutboxStore } from "./outbox";
export type { PushRegistrationLike, PushSubscriptionJson, PushSubscriptionLike } from "./push";
export { RestClient, type ChatClientOptions, type WebSocketConstructor } from "./rest";
export { RoomConnection, type Ack, type FrameOf, type PendingSend, type RoomEvents, type SendOptions } from "./room";
export type { ConnectionState } from "./socket";
export { isPendingMessage, Timeline, type PendingMessage, type TimelineEntry } from "./timeline";
export { TYPING_SHOWN_MS } from "./people";
export { TYPING_RESEND_MS, TypingIndicator } from "./typing";
export type * from "./types";
export { UserConnection, type UserEvents } from "./user";
