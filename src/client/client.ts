/**
 * The entry point: `new ChatClient({ baseUrl, getToken })` gives every REST route (RestClient),
 * room sockets (`room(roomId)`), the user socket (`user()`) and Web Push registration.
 */
import { userIdOfToken } from "./ids";
import { defaultOutboxStore } from "./outbox";
import { disablePush, enablePush, type PushRegistrationLike, type PushSubscriptionLike } from "./push";
import { RestClient } from "./rest";
import { RoomConnection } from "./room";
import { UserConnection } from "./user";

export class ChatClient extends RestClient {
  /** Opens a room's socket; it connects at once and reconnects until `close()`. */
  room(roomId: string): RoomConnection {
    return new RoomConnection(this, roomId, { outbox: this.options.outbox ?? defaultOutboxStore(), userId: this.userIdNow() });
  }

  /**
   * Opens the user socket (notifications, unread counts). The id is the signed-in user's:
   * given in the options, or read from the token when it is a JWT; pass it otherwise.
   */
  user(userId = this.options.userId ?? (this.options.token ? userIdOfToken(this.options.token) : null)): UserConnection {
    if (!userId) throw new TypeError("user(): pass the user id (it could not be read from the token)");
    return new UserConnection(this, userId);
  }

  /** Subscribes this browser to Web Push and registers it; see push.ts. */
  enablePush(registration: PushRegistrationLike): Promise<PushSubscriptionLike> {
    return enablePush(this, registration);
  }
  /** Unregisters this browser's push subscription and unsubscribes it. */
  disablePush(registration: PushRegistrationLike): Promise<void> {
    return disablePush(this, registration);
  }

  /** The signed-in user's id if the options or the token tell (null: only a welcome will). */
  private async userIdNow(): Promise<string | null> {
    if (this.options.userId) return this.options.userId;
    try {
      return userIdOfToken(await this.currentToken());
    } catch {
      return null;
    }
  }
}
