/** The shapes of REST answers (docs/ and /work/shared/API.md name them); frames live in ../protocol. */
import type { Message, Notification, OnlineUser, PresenceStatus } from "../protocol";
import type { WebhookEventType } from "../webhooks/events";

export type { WebhookEventType };

export type RoomKind = "community" | "group" | "direct" | "visitor";
export type RoomRole = "admin" | "moderator" | "member";

export interface RoomSummary {
  id: string;
  kind: RoomKind;
  title: string | null;
  role?: string;
  lastMessage?: Message | null;
  unread?: number;
  lastActivityAt?: string;
  slowModeSeconds?: number;
}
export interface RoomList {
  rooms: RoomSummary[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor?: string | null;
}
export interface RoomMember {
  id: string;
  name: string;
  role: string;
}
export interface RoomDetails {
  room: RoomSummary;
  members: RoomMember[];
}
export interface HistoryPage {
  messages: Message[];
  nextBefore: number | null;
}
export interface SearchPage {
  results: { message: Message; snippet: string }[];
  nextBefore: string | null;
}
export interface UserPresence {
  id: string;
  status: PresenceStatus;
  lastSeen: string | null;
}
export interface RoomPresence {
  online: OnlineUser[];
}
export interface NotificationPage {
  notifications: Notification[];
  nextBefore: number | null;
}
export type EmailMode = "off" | "instant" | "daily";
export interface NotificationPreferences {
  inApp: boolean;
  email: EmailMode;
  push: boolean;
  mutedRooms: string[];
}
/** How far an upload has got, in bytes. */
export interface UploadProgress {
  loaded: number;
  total: number;
}
/** `GET /api/admin/stats`. */
export interface AdminStats {
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
  events: WebhookEventType[];
  createdAt?: string;
}
