/**
 * The composer's typing indicator (`edge-chat/client`'s TypingIndicator) on its own clock: the
 * server shows each `on` for 3 s and ignores repeats, so what a client sends is only visible here.
 */
import { describe, expect, test } from "vitest";
import { TYPING_RESEND_MS, TypingIndicator } from "edge-chat/client";

function indicator(online = true) {
  let now = 1_000_000;
  const sent: boolean[] = [];
  const typing = new TypingIndicator(
    (on) => (online ? (sent.push(on), true) : false),
    () => now,
  );
  return { typing, sent, advance: (ms: number) => (now += ms), goOnline: () => (online = true) };
}

describe("the typing indicator", () => {
  test("sends one on per 2 s at most while the text keeps changing", () => {
    const { typing, sent, advance } = indicator();
    for (let i = 0; i < 10; i++) {
      typing.input("x".repeat(i + 1));
      advance(300);
    }
    // 3 s of keystrokes: an on at 0, 2.1 s (the first keystroke past 2 s), none else.
    expect(sent).toEqual([true, true]);
    advance(TYPING_RESEND_MS);
    typing.input("more");
    expect(sent).toEqual([true, true, true]);
  });

  test("sends off on send (stop) and on blur, and only when an on is showing", () => {
    const { typing, sent } = indicator();
    typing.blur();
    typing.stop();
    expect(sent).toEqual([]);
    typing.input("hello");
    typing.stop();
    expect(sent).toEqual([true, false]);
    typing.input("again");
    typing.blur();
    expect(sent).toEqual([true, false, true, false]);
    expect(typing.active).toBe(false);
  });

  test("clearing the text stops it, and an on that could not go out is tried again on the next keystroke", () => {
    const { typing, sent, goOnline } = indicator(false);
    typing.input("offline");
    expect(typing.active).toBe(false);
    goOnline();
    typing.input("online");
    expect(sent).toEqual([true]);
    typing.input("   ");
    expect(sent).toEqual([true, false]);
  });
});
