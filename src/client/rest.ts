/**
 * Every REST route of the contract, typed. Each request carries `Authorization: Bearer` with
 * the token of the moment (`getToken` is asked each time, so the app can refresh it).
 */
import type { AttachmentRef, Identity, Message, Topic, UserRef } from "../protocol";
import { socketTicket, type SocketTicket } from "./auth";
import { ChatError } from "./errors";
import { fetchOk, jsonInit, request, seg, urlOf, type Query } from "./http";
import { newClientId } from "./ids";
import type { OutboxStore } from "./outbox";
import type { PushSubscriptionJson } from "./push";
import { postFile } from "./upload";
import type {
  AdminStats,
  HistoryPage,
  NotificationPage,
  NotificationPreferences,
  RoomDetails,
  RoomList,
  RoomMember,
  RoomPresence,
  RoomRole,
  RoomSummary,
  SearchPage,
  UploadProgress,
  UserPresence,
  Webhook,
  WebhookEventType,
} from "./types";

/** A WebSocket constructor where there is no global one (Node 20: `ws`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

export interface ChatClientOptions {
  /** Origin of the Worker, e.g. `location.origin` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** A fixed token; give this or `getToken`. */
  token?: string;
  /**
   * Called before every REST request and every socket (re)connect for the token to use, so an
   * app whose sign-in renews tokens hands over the current one; cache it on your side.
   */
  getToken?: () => string | Promise<string>;
  /**
   * How sockets prove who they are: `ticket` (default) trades the token for a single-use ticket
   * before each connect; `token` puts the token itself in the URL (`?token=`).
   */
  socketAuth?: "ticket" | "token";
  /** A WebSocket constructor where there is no global one (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
  /**
   * The signed-in user's id. Optional: read from the token's `sub` when it is a JWT, else from
   * the room's welcome. Files the outbox under the user, and names the user socket.
   */
  userId?: string;
  /**
   * Where unacknowledged sends are kept between page loads: IndexedDB in browsers, memory
   * elsewhere, unless another store is given.
   */
  outbox?: OutboxStore;
}

const room = (roomId: string) => `/api/rooms/${seg(roomId)}`;
const message = (roomId: string, messageId: string) => `${room(roomId)}/messages/${seg(messageId)}`;

export class RestClient {
  constructor(readonly options: ChatClientOptions) {
    if (options.token === undefined && options.getToken === undefined) throw new TypeError("ChatClient needs a token or getToken");
  }

  /** The token to use now. */
  async currentToken(): Promise<string> {
    const token = this.options.getToken ? await this.options.getToken() : this.options.token;
    if (!token) throw new ChatError("unauthorized", "no token");
    return token;
  }

  protected url(path: string, query: Query = {}): string {
    return urlOf(this.options.baseUrl, path, query);
  }

  protected async call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const auth = await this.auth();
    const init = opts.body === undefined ? { method, headers: auth } : jsonInit(method, opts.body, auth);
    return request<T>(this.url(path, opts.query), init);
  }

  private async auth(): Promise<{ authorization: string }> {
    return { authorization: `Bearer ${await this.currentToken()}` };
  }

  // ---- Tickets ----

  /** A single-use socket ticket (the sockets fetch their own before every connect). */
  async ticket(): Promise<SocketTicket> {
    return socketTicket(this.options.baseUrl, await this.currentToken());
  }

  // ---- Rooms ----

  /** The caller's rooms, newest activity first; `archived: true` lists the archived ones. */
  rooms(opts: { archived?: boolean; limit?: number; cursor?: string } = {}): Promise<RoomList> {
    return this.call("GET", "/api/rooms", { query: { ...opts, archived: opts.archived ? "true" : undefined } });
  }
  roomDetails(roomId: string): Promise<RoomDetails> {
    return this.call("GET", room(roomId));
  }
  /** The one direct room with `userId` (made on first use). */
  directRoom(userId: string): Promise<{ room: RoomSummary }> {
    return this.call("POST", "/api/rooms/direct", { body: { userId } });
  }
  createGroup(title: string, members: string[]): Promise<{ room: RoomSummary }> {
    return this.call("POST", "/api/rooms/group", { body: { title, members } });
  }
  /** Group admins: the title and slow mode (0..120 s between one member's sends). */
  updateRoom(roomId: string, patch: { title?: string; slowModeSeconds?: number }): Promise<{ room: RoomSummary }> {
    return this.call("PATCH", room(roomId), { body: patch });
  }
  addMember(roomId: string, userId: string, role?: RoomRole): Promise<{ member: RoomMember }> {
    return this.call("POST", `${room(roomId)}/members`, { body: role ? { userId, role } : { userId } });
  }
  setMemberRole(roomId: string, userId: string, role: RoomRole): Promise<{ member: RoomMember }> {
    return this.call("PATCH", `${room(roomId)}/members/${seg(userId)}`, { body: { role } });
  }
  /** Removes a member, or leaves (your own id); the last admin leaving names a `successor`. */
  async removeMember(roomId: string, userId: string, opts: { successor?: string } = {}): Promise<void> {
    await this.call("DELETE", `${room(roomId)}/members/${seg(userId)}`, { query: opts });
  }
  /** Archives a room for this user alone (false: brings it back). */
  async archive(roomId: string, archived = true): Promise<void> {
    await this.call(archived ? "PUT" : "DELETE", `${room(roomId)}/archive`);
  }

  // ---- Messages ----

  /** Older messages, ascending; pass the page's `nextBefore` as the next `before`. */
  history(roomId: string, page: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    return this.call("GET", `${room(roomId)}/messages`, { query: page });
  }
  /** A send over REST; the same `clientId` again answers with the first message. */
  async postMessage(roomId: string, input: { text: string; clientId?: string; replyTo?: string; attachments?: string[] }): Promise<Message> {
    const body = { ...input, clientId: input.clientId ?? newClientId() };
    return (await this.call<{ message: Message }>("POST", `${room(roomId)}/messages`, { body })).message;
  }
  /** The author's edit. */
  async editMessage(roomId: string, messageId: string, text: string): Promise<Message> {
    return (await this.call<{ message: Message }>("PATCH", message(roomId, messageId), { body: { text } })).message;
  }
  /** The author's, a moderator's or an admin's delete: the message stays as a tombstone. */
  async deleteMessage(roomId: string, messageId: string): Promise<Message> {
    return (await this.call<{ message: Message }>("DELETE", message(roomId, messageId))).message;
  }
  /** Turns the caller's reaction on (a new emoji replaces their old one) or off. */
  async setReaction(roomId: string, messageId: string, emoji: string, on = true): Promise<Message> {
    const path = `${message(roomId, messageId)}/reactions/${seg(emoji)}`;
    return (await this.call<{ message: Message }>(on ? "PUT" : "DELETE", path)).message;
  }
  /** Marks everything up to `seq` read (the socket's `read` frame does the same). */
  async markRead(roomId: string, seq: number): Promise<void> {
    await this.call("POST", `${room(roomId)}/read`, { body: { seq } });
  }
  /** Who other than its author has read a message. */
  readers(roomId: string, messageId: string): Promise<{ readBy: UserRef[] }> {
    return this.call("GET", `${message(roomId, messageId)}/reads`);
  }

  // ---- Presence, topics, search, people ----

  /** Everyone online in a room (the welcome frame lists at most 100). */
  roomPresence(roomId: string): Promise<RoomPresence> {
    return this.call("GET", `${room(roomId)}/presence`);
  }
  /** Status and last-seen time of users who share a room with the caller (at most 100). */
  presence(userIds: string[]): Promise<{ users: UserPresence[] }> {
    return this.call("GET", "/api/presence", { query: { userIds: userIds.join(",") } });
  }
  /**
   * The room's trending topics, best first (`limit` 1..50, default 10). Live changes of the top
   * 10 arrive on the room socket as `topics` frames (`RoomConnection.on("topics", …)`).
   */
  topics(roomId: string, limit?: number): Promise<{ topics: Topic[] }> {
    return this.call("GET", `${room(roomId)}/topics`, { query: { limit } });
  }
  /** Full-text search over the caller's rooms; `snippet` is escaped HTML with `<mark>` around hits. */
  search(q: string, opts: { roomId?: string; limit?: number; before?: string } = {}): Promise<SearchPage> {
    return this.call("GET", "/api/search", { query: { q, ...opts } });
  }
  /** Members whose id or name starts with `q` (not for visitors). */
  users(q = "", limit?: number): Promise<{ users: Identity[] }> {
    return this.call("GET", "/api/users", { query: { q, limit } });
  }

  // ---- Attachments ----

  /**
   * Uploads a file to a room; name its `id` in a send's `attachments`. `onProgress` reports the
   * bytes sent as they go (in browsers; elsewhere once, at the end).
   */
  async upload(
    roomId: string,
    file: Blob,
    name: string,
    opts: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {},
  ): Promise<AttachmentRef> {
    const headers = { ...(await this.auth()), "content-type": file.type || "application/octet-stream" };
    const url = this.url(`${room(roomId)}/attachments`, { name });
    return (await postFile<{ attachment: AttachmentRef }>({ url, headers, body: file, ...opts })).attachment;
  }

  /**
   * An attachment's bytes, from its `url` (relative to `baseUrl`). It needs the token, so an
   * `<img src>` cannot load it by itself: show it through `URL.createObjectURL(blob)`.
   */
  async file(url: string, opts: { signal?: AbortSignal } = {}): Promise<Blob> {
    return (await fetchOk(this.url(url), { headers: await this.auth(), signal: opts.signal })).blob();
  }

  // ---- Notifications ----

  /** The caller's notification feed, newest first. */
  notifications(page: { limit?: number; before?: number } = {}): Promise<NotificationPage> {
    return this.call("GET", "/api/notifications", { query: page });
  }
  async markNotificationRead(id: string): Promise<void> {
    await this.call("POST", `/api/notifications/${seg(id)}/read`);
  }
  async deleteNotification(id: string): Promise<void> {
    await this.call("DELETE", `/api/notifications/${seg(id)}`);
  }
  notificationPreferences(): Promise<NotificationPreferences> {
    return this.call("GET", "/api/notifications/preferences");
  }
  /** Changes only the fields given; answers with all of them as stored. */
  setNotificationPreferences(patch: Partial<NotificationPreferences>): Promise<NotificationPreferences> {
    return this.call("PUT", "/api/notifications/preferences", { body: patch });
  }

  // ---- Web Push ----

  /** The server's VAPID public key (base64url), for `pushManager.subscribe`. */
  async pushPublicKey(): Promise<string> {
    return (await this.call<{ publicKey: string }>("GET", "/api/push/vapid-public-key")).publicKey;
  }
  /** Registers a browser's subscription (`PushSubscription.toJSON()`) for this user. */
  async registerPushSubscription(subscription: PushSubscriptionJson): Promise<void> {
    await this.call("POST", "/api/push/subscriptions", { body: subscription });
  }
  /** Forgets a subscription by its endpoint (nothing happens if this user did not have it). */
  async unregisterPushSubscription(endpoint: string): Promise<void> {
    await this.call("DELETE", "/api/push/subscriptions", { body: { endpoint } });
  }

  // ---- Administration (the admin service role; anyone else gets 403) ----

  /** Live counters across the service (they trail reality by a few seconds). */
  adminStats(): Promise<AdminStats> {
    return this.call("GET", "/api/admin/stats");
  }
  /** A `broadcast` notification to the listed users, or to every member (it is delivered through a queue). */
  broadcast(title: string, body: string, userIds?: string[]): Promise<{ broadcast: { id: string; recipients: number | "all" } }> {
    return this.call("POST", "/api/admin/notifications", { body: userIds ? { title, body, userIds } : { title, body } });
  }
  webhooks(): Promise<{ webhooks: Webhook[] }> {
    return this.call("GET", "/api/admin/webhooks");
  }
  /** The answer carries the signing `secret`, which is never shown again. */
  createWebhook(url: string, events: WebhookEventType[]): Promise<{ webhook: Webhook & { secret: string } }> {
    return this.call("POST", "/api/admin/webhooks", { body: { url, events } });
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.call("DELETE", `/api/admin/webhooks/${seg(id)}`);
  }
}
