/// <reference types="node" />
/**
 * Chatting in the web app, two people in two browser contexts against `wrangler dev`: typing,
 * presence, sends while offline (also from a tab closed before it was back), text that looks
 * like markup, reactions, replies, edits and deletes by keyboard, image uploads, delivery ticks
 * and history after a reload.
 */
import { deflateSync } from "node:zlib";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { focused, message, openRoom, say, screenshot, WAIT, WebApp, type Person } from "../e2e/harness";

let web: WebApp | undefined;
let ready: Promise<WebApp> | undefined;
const setup = () => (ready ??= WebApp.start().then((w) => (web = w)));

afterAll(async () => {
  await web?.stop();
});

/** Two people in a fresh group, both looking at it. */
async function pair(w: WebApp, title: string): Promise<{ a: Person; b: Person; roomId: string }> {
  const a = await w.person("Alice", "alice");
  const b = await w.person("Bob", "bob");
  const { room } = await a.api.createGroup(title, ["bob"]);
  await openRoom(a.page, room.id);
  await openRoom(b.page, room.id);
  return { a, b, roomId: room.id };
}

async function close(...people: Person[]): Promise<void> {
  for (const p of people) await p.context.close();
}

describe("web app: chatting", () => {
  test("typing shows for the other person and clears when the message arrives", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Typing");
    await b.page.getByLabel("Message", { exact: true }).pressSequentially("Ready for launch?", { delay: 15 });
    await a.page.getByText("Bob is typing…").waitFor(WAIT);
    await screenshot(a.page, "typing");
    await b.page.getByLabel("Message", { exact: true }).press("Enter");
    await message(a.page, "Ready for launch?").waitFor(WAIT);
    await a.page.getByText("Bob is typing…").waitFor({ state: "hidden", ...WAIT });

    // Clearing the box without sending clears it too.
    await b.page.getByLabel("Message", { exact: true }).pressSequentially("never mind", { delay: 15 });
    await a.page.getByText("Bob is typing…").waitFor(WAIT);
    await b.page.getByLabel("Message", { exact: true }).fill("");
    await b.page.getByLabel("Message", { exact: true }).press("Backspace");
    await a.page.getByText("Bob is typing…").waitFor({ state: "hidden", ...WAIT });
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("the other person shows as online in a direct message, and offline once their tab closes", async () => {
    const w = await setup();
    const a = await w.person("Alice", "alice");
    const b = await w.person("Bob", "bob");
    const { room } = await a.api.directRoom("bob");
    await openRoom(a.page, room.id);
    await openRoom(b.page, room.id);
    const status = a.page.locator(".room-head .presence");
    await expect.poll(() => status.textContent(), WAIT).toBe("online");
    await b.context.close();
    await expect.poll(() => status.textContent(), WAIT).toBe("offline");
    await close(a);
    expect(w.pageErrors).toEqual([]);
  });

  test("a message sent while offline waits as pending, and is delivered once when back online", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Offline");
    await say(a.page, "Before the tunnel");
    await message(b.page, "Before the tunnel").waitFor(WAIT);

    await a.context.setOffline(true);
    await say(a.page, "In the tunnel 1");
    await say(a.page, "In the tunnel 2");
    const pending = a.page.locator("article.msg.pending");
    await expect.poll(() => pending.count(), WAIT).toBe(2);
    await a.page.getByText("You are offline. 2 messages are waiting to be sent.").waitFor(WAIT);
    await expect(pending.first().locator(".state").textContent()).resolves.toBe("Waiting for connection…");
    await screenshot(a.page, "offline");
    expect(await b.page.getByText("In the tunnel 1").count()).toBe(0);

    await a.context.setOffline(false);
    await message(b.page, "In the tunnel 2").waitFor(WAIT);
    await expect.poll(() => pending.count(), WAIT).toBe(0);
    await a.page.locator(".banner").waitFor({ state: "detached", ...WAIT });
    // Each exactly once, in order, on both sides and in history.
    for (const p of [a, b]) {
      const texts = await p.page.locator("article.msg .text").allTextContents();
      expect(texts).toEqual(["Before the tunnel", "In the tunnel 1", "In the tunnel 2"]);
    }
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("a message written offline outlives its tab, and the next tab sends it once when back online", async () => {
    const w = await setup();
    const { a, b, roomId } = await pair(w, "Train");
    await a.context.setOffline(true);
    await say(a.page, "Written on the train");
    await a.page.locator("article.msg.pending", { hasText: "Written on the train" }).waitFor(WAIT);
    await a.page.getByText("You are offline. 1 message is waiting to be sent.").waitFor(WAIT);
    // In the client's outbox in IndexedDB, then the tab is closed before it could go out.
    await expect.poll(() => outbox(a.page), WAIT).toEqual(["Written on the train"]);
    await a.page.close();
    await a.context.setOffline(false);
    expect((await a.api.history(roomId)).messages).toEqual([]);

    // Alice opens the app again (a new tab, the same browser), back online.
    const again = await a.context.newPage();
    await again.goto(`${w.url}/#token=${a.token}&room=${encodeURIComponent(roomId)}`);
    await message(again, "Written on the train").waitFor(WAIT);
    await message(b.page, "Written on the train").waitFor(WAIT);
    await expect.poll(() => again.locator("article.msg.pending").count(), WAIT).toBe(0);
    await expect.poll(() => outbox(again), WAIT).toEqual([]);
    // Once: in history and in both browsers.
    expect((await a.api.history(roomId)).messages.map((m) => m.text)).toEqual(["Written on the train"]);
    for (const page of [again, b.page]) expect(await page.locator("article.msg .text").allTextContents()).toEqual(["Written on the train"]);
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("message text is shown as text: markup stays visible, links are clickable, mentions are marked", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Markup");
    let alerted = false;
    b.page.on("dialog", (d) => ((alerted = true), void d.dismiss()));
    const evil = `<img src=x onerror="alert(1)"> <b>bold?</b> @bob see https://example.com/a?b=1. or javascript:alert(2)`;
    await say(a.page, evil);
    const shown = message(b.page, evil);
    await shown.waitFor(WAIT);
    expect(await shown.locator(".text img, .text b").count()).toBe(0);
    expect(await shown.locator(".text").textContent()).toBe(evil);
    const links = shown.locator(".text a");
    await expect(links.count()).resolves.toBe(1);
    await expect(links.getAttribute("href")).resolves.toBe("https://example.com/a?b=1");
    await expect(links.getAttribute("rel")).resolves.toContain("noopener");
    await expect(shown.locator(".mention.me").textContent()).resolves.toBe("@bob");
    expect(alerted).toBe(false);
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("a reaction and a reply made in one browser show in the other, and both survive a reload", async () => {
    const w = await setup();
    const { a, b, roomId } = await pair(w, "Reactions");
    await say(a.page, "Ship it on Friday?");
    const original = message(b.page, "Ship it on Friday?");
    await original.waitFor(WAIT);

    // React with the pointer: hover shows the actions.
    await original.hover();
    await original.getByRole("button", { name: "React", exact: true }).click();
    await original.getByRole("button", { name: "React with 🎉" }).click();
    await message(a.page, "Ship it on Friday?").getByRole("button", { name: /🎉 1/ }).waitFor(WAIT);

    // Reply with the keyboard only: focus the message, Tab to Reply.
    await original.focus();
    await original.getByRole("button", { name: "Reply" }).focus();
    await b.page.keyboard.press("Enter");
    await b.page.getByText("Replying to Alice").waitFor(WAIT);
    await focused(b.page.getByLabel("Message", { exact: true }));
    await b.page.keyboard.type("Friday works");
    await b.page.keyboard.press("Enter");
    const reply = message(a.page, "Friday works");
    await reply.waitFor(WAIT);
    await expect(reply.locator(".quote").textContent()).resolves.toContain("Ship it on Friday?");
    await screenshot(a.page, "chat");

    // Alice takes part in the reaction too, then both reload.
    await message(a.page, "Ship it on Friday?").getByRole("button", { name: /🎉 1/ }).click();
    await message(b.page, "Ship it on Friday?").getByRole("button", { name: /🎉 2/ }).waitFor(WAIT);
    await a.page.reload();
    await openRoom(a.page, roomId);
    await message(a.page, "Ship it on Friday?").getByRole("button", { name: /🎉 2/ }).waitFor(WAIT);
    await expect(message(a.page, "Friday works").locator(".quote").textContent()).resolves.toContain("Ship it on Friday?");
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("a group message says how many have seen it, and who", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Receipts");
    await w.member("Carol", "carol");
    await say(a.page, "Please read the brief");
    const mine = message(a.page, "Please read the brief");
    await mine.waitFor(WAIT);
    await message(b.page, "Please read the brief").waitFor(WAIT);
    await mine.locator(".seen").filter({ hasText: "Seen by 1" }).waitFor(WAIT);
    await mine.hover();
    await mine.getByRole("button", { name: "Seen by" }).click();
    await expect.poll(() => mine.locator(".seen-by").textContent(), WAIT).toBe("Seen by Bob");
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("edit and delete from a message's actions, by keyboard; the quote of a reply follows", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Edits");
    await say(a.page, "The meeting is at 3");
    const mine = message(a.page, "The meeting is at 3");
    await mine.waitFor(WAIT);
    await mine.focus();
    await mine.getByRole("button", { name: "Edit" }).focus();
    await a.page.keyboard.press("Enter");
    const box = a.page.getByLabel("Edited text");
    await box.fill("The meeting is at 4");
    await box.press("Enter");
    const edited = message(b.page, "The meeting is at 4");
    await edited.waitFor(WAIT);
    await expect(edited.locator(".edited").textContent()).resolves.toContain("edited");

    await b.page.getByLabel("Message", { exact: true }).focus();
    await edited.focus();
    await edited.getByRole("button", { name: "Reply" }).click();
    await say(b.page, "See you then");
    await message(a.page, "See you then").waitFor(WAIT);

    const mineNow = message(a.page, "The meeting is at 4");
    await mineNow.focus();
    await mineNow.getByRole("button", { name: "Delete" }).focus();
    await a.page.keyboard.press("Enter");
    // Asked first; the icon button it replaces has the same name.
    await mineNow.getByText("Delete this message?").waitFor(WAIT);
    await mineNow.getByRole("button", { name: "Delete", exact: true }).click();
    await b.page.getByText("This message was deleted.").waitFor(WAIT);
    await expect.poll(() => message(b.page, "See you then").locator(".quote").textContent(), WAIT).toBe("Deleted message");
    expect(await b.page.locator(".list").textContent()).not.toContain("The meeting is at 4");
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("an image upload shows its progress and a preview, then the image in both browsers", async () => {
    const w = await setup();
    const { a, b } = await pair(w, "Photos");
    await a.page.getByLabel("Choose files to attach").setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: png(64, 40) });
    const preview = a.page.getByRole("img", { name: "Preview of sunset.png" });
    await preview.waitFor(WAIT);
    await expect.poll(() => a.page.getByRole("button", { name: "Send" }).isEnabled(), WAIT).toBe(true);
    await screenshot(a.page, "upload");
    await a.page.getByRole("button", { name: "Send" }).click();

    for (const p of [a, b]) {
      const img = p.page.locator("article.msg:not(.pending) img[alt='sunset.png']");
      await img.waitFor(WAIT);
      // Loaded from the server (with the token), and drawn at its size.
      await expect.poll(() => img.evaluate((el) => (el as unknown as { complete: boolean; naturalWidth: number }).naturalWidth), WAIT).toBe(64);
    }
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });

  test("direct messages show delivery ticks that turn to read, and a reload keeps the history", async () => {
    const w = await setup();
    const a = await w.person("Alice", "alice");
    const b = await w.person("Bob", "bob");
    const { room } = await a.api.directRoom("bob");
    for (let i = 1; i <= 120; i++) await a.api.postMessage(room.id, { text: `Earlier ${i}` });
    await openRoom(a.page, room.id);
    await say(a.page, "Are you there?");
    const ticks = message(a.page, "Are you there?").locator(".ticks");
    await expect.poll(() => ticks.getAttribute("aria-label"), WAIT).toMatch(/Sent|Delivered/);
    await openRoom(b.page, room.id);
    await message(b.page, "Are you there?").waitFor(WAIT);
    await expect.poll(() => ticks.getAttribute("aria-label"), WAIT).toBe("Read");

    // After a reload: the newest in order, older pages loaded by scrolling up, nothing twice.
    await b.page.reload();
    await openRoom(b.page, room.id);
    await message(b.page, "Are you there?").waitFor(WAIT);
    // Scrolled to the top until the start of the room is there (each time near the top loads a page).
    await expect
      .poll(async () => {
        await b.page.locator(".list").evaluate((el) => (el.scrollTop = 0));
        return b.page.getByText(/This is the start of/).count();
      }, { ...WAIT, interval: 300 })
      .toBe(1);
    await b.page.locator(".list").evaluate((el) => (el.scrollTop = 0));
    await message(b.page, "Earlier 1").waitFor(WAIT);
    const seqs = await b.page.locator("article.msg[data-seq]").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    await close(a, b);
    expect(w.pageErrors).toEqual([]);
  });
});

/** The texts waiting in the client's outbox (IndexedDB `edge-chat`/`outbox`) of this browser. */
function outbox(page: Page): Promise<string[]> {
  // A string: the Node-side type check has no DOM types.
  return page.evaluate(`new Promise((resolve, reject) => {
    const open = indexedDB.open("edge-chat");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const all = open.result.transaction("outbox").objectStore("outbox").getAll();
      all.onsuccess = () => resolve(all.result.flat().map((r) => r.text));
    };
  })`);
}

/** A real PNG of the given size (a solid colour), built by hand. */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([240, 120, 60]))]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
