/**
 * The typing indicator from the composer's side: call `input()` on every keystroke and
 * `blur()` when the field loses focus. It sends `on` at most once per 2 s while there is text
 * (the server shows it for 3 s after the last one), and `off` when the text is cleared, the
 * field is left or the message is sent.
 */
export const TYPING_RESEND_MS = 2000;

export class TypingIndicator {
  private lastOn = 0;

  constructor(
    /** Sends the frame; false when it could not go out (offline), so the next keystroke tries again. */
    private readonly sendTyping: (on: boolean) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an `on` is still showing to the others (sent, and no `off` since). */
  get active(): boolean {
    return this.lastOn !== 0;
  }

  /** The composer's text changed (its current value; empty counts as stopping). */
  input(text = "x"): void {
    if (!text.trim()) return this.stop();
    const now = this.now();
    if (now - this.lastOn < TYPING_RESEND_MS) return;
    if (this.sendTyping(true)) this.lastOn = now;
  }

  blur(): void {
    this.stop();
  }

  /** Sends `off` if an `on` is showing. `RoomConnection.send` calls this. */
  stop(): void {
    if (!this.lastOn) return;
    this.lastOn = 0;
    this.sendTyping(false);
  }
}
