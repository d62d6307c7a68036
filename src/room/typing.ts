/** Who is typing, with the 3-second expiry after the last `on`. */
import { TYPING_TIMEOUT_MS } from "../protocol";

export class Typing {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly onExpire: (userId: string) => void) {}

  /** How many users are typing. */
  get count(): number {
    return this.timers.size;
  }

  isTyping(userId: string): boolean {
    return this.timers.has(userId);
  }

  /** Marks the user typing (or keeps them typing) for another 3 s. */
  start(userId: string): void {
    const running = this.timers.get(userId);
    if (running !== undefined) clearTimeout(running);
    this.timers.set(
      userId,
      setTimeout(() => {
        this.timers.delete(userId);
        this.onExpire(userId);
      }, TYPING_TIMEOUT_MS),
    );
  }

  /** Returns whether the user was typing. */
  stop(userId: string): boolean {
    const timer = this.timers.get(userId);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.timers.delete(userId);
    return true;
  }
}
