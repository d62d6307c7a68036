/// <reference types="node" />
/**
 * The web app in a real headless Chromium against `wrangler dev`: two people in one room,
 * live delivery, the pending → acknowledged state, typing, presence, history after a reload,
 * "load older", and a send made while the connection is down going out after it is back, every
 * connection opened with a fresh socket ticket rather than the token.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page, type WebSocketRoute } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { ChatClient, devLogin } from "../../src/client";
import type { ServerFrame } from "../../src/protocol";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? "/tmp";
const WAIT = { timeout: 15_000 };

let server: DevServer | undefined;
let browser: Browser | undefined;
let ready: Promise<void> | undefined;
const pageErrors: string[] = [];

/**
 * Started from inside the tests rather than in beforeAll, so a missing Chromium or a server
 * that does not come up is reported as a failed test, not as skipped ones.
 */
function setup(): Promise<void> {
  return (ready ??= start());
}

async function start(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is needed at ${CHROMIUM} for the web app test: install it with ` +
        `"apt-get install -y chromium", or point CHROMIUM_PATH at a Chromium binary.`,
    );
  }
  await Promise.all([
    startDevServer().then((s) => (server = s)),
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
      ],
    }).then((b) => (browser = b)),
  ]);
}

/** The running server's URL; only valid after `setup()`. */
function url(): string {
  if (!server) throw new Error("dev server is not running");
  return server.url;
}

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(): Promise<Page> {
  if (!browser) throw new Error("browser is not running");
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

async function signIn(page: Page, name: string, userId: string): Promise<void> {
  await page.goto(url());
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("User id").fill(userId);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator(".shell").waitFor(WAIT);
}

async function openRoom(page: Page, roomId: string): Promise<void> {
  await page.goto(`${url()}/#${roomId}`);
  await page.locator('.conn[data-state="open"]').waitFor(WAIT);
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
}

/** A confirmed message (not a pending send) whose whole text is `text`. */
const message = (page: Page, text: string) =>
  page.locator(".list .msg").filter({ has: page.locator(".text").getByText(text, { exact: true }) });

/** True when a raw server frame is, or carries in a batch, an ack. */
function carriesAck(raw: string | Buffer): boolean {
  const hasAck = (f: ServerFrame): boolean => f.type === "ack" || (f.type === "batch" && f.frames.some(hasAck));
  try {
    return hasAck(JSON.parse(raw.toString()) as ServerFrame);
  } catch {
    return false;
  }
}

/**
 * Puts a page's room sockets behind a switchable proxy: acks can be held back, and the
 * connection can be cut with every reconnect refused until `restore()`.
 */
async function proxySockets(page: Page) {
  let holdAcks = false;
  let down = false;
  const held: string[] = [];
  let current: { page: WebSocketRoute; server: WebSocketRoute } | null = null;
  const urls: string[] = [];
  await page.routeWebSocket(/\/parties\/room\//, (ws) => {
    urls.push(ws.url());
    if (down) return void ws.close({ code: 1011, reason: "test: server unreachable" });
    const upstream = ws.connectToServer();
    current = { page: ws, server: upstream };
    upstream.onMessage((raw) => {
      const text = raw.toString();
      if (holdAcks && carriesAck(text)) held.push(text);
      else ws.send(text);
    });
  });
  return {
    /** Every socket URL the page opened. */
    urls,
    holdAcks() {
      holdAcks = true;
    },
    releaseAcks() {
      holdAcks = false;
      for (const text of held.splice(0)) current?.page.send(text);
    },
    async cut() {
      down = true;
      await current?.server.close();
      await current?.page.close({ code: 1011, reason: "test: connection lost" });
    },
    restore() {
      down = false;
    },
  };
}

describe("web app", () => {
  test("two people chat live, with pending state, typing, history and reconnect", async () => {
    await setup();
    const alice = await openPage();
    const bob = await openPage();
    const proxy = await proxySockets(alice);
    await signIn(alice, "Alice", "alice");
    await signIn(bob, "Bob", "bob");

    // A fresh group room, with Carol as a third member who fills it with history over REST.
    // (Only people who have signed in once can be invited.)
    const carol = new ChatClient({ baseUrl: url(), token: (await devLogin(url(), "carol", "Carol")).token });
    const aliceApi = new ChatClient({ baseUrl: url(), token: (await devLogin(url(), "alice", "Alice")).token });
    const { room } = await aliceApi.createGroup("Launch plans", ["bob", "carol"]);
    for (let i = 1; i <= 55; i++) await carol.postMessage(room.id, { text: `Backlog note ${i}` });

    await openRoom(alice, room.id);
    await openRoom(bob, room.id);

    // Presence: each sees the other online.
    await alice.locator(".people .person", { hasText: "Bob" }).waitFor(WAIT);
    await bob.locator(".people .person", { hasText: "Alice" }).waitFor(WAIT);

    // Only the last 50 arrive with the welcome; the rest is one "load older" away.
    await message(bob, "Backlog note 55").waitFor(WAIT);
    await expect.poll(() => bob.locator(".list .msg").count(), WAIT).toBe(50);
    await bob.getByRole("button", { name: "Load older messages" }).click();
    await message(bob, "Backlog note 1").waitFor(WAIT);
    await expect.poll(() => bob.locator(".list .msg").count(), WAIT).toBe(55);
    await bob.getByText("This is the start of Launch plans.").waitFor(WAIT);

    // Alice's send stays greyed out until its ack arrives, while Bob already sees it live.
    proxy.holdAcks();
    await say(alice, "Hello Bob <b>not bold</b>");
    await message(bob, "Hello Bob <b>not bold</b>").waitFor(WAIT);
    const pending = alice.locator(".msg.pending", { hasText: "Hello Bob" });
    await pending.waitFor(WAIT);
    await expect(pending.locator(".state").textContent()).resolves.toBe("sending…");
    await alice.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat-pending.png` });
    proxy.releaseAcks();
    await pending.waitFor({ state: "detached", ...WAIT });
    await message(alice, "Hello Bob <b>not bold</b>").waitFor(WAIT);
    // User text is shown as text, never parsed as markup.
    expect(await message(bob, "Hello Bob <b>not bold</b>").locator("b").count()).toBe(0);

    // Typing shows up for the other person, then the reply arrives live.
    await bob.getByLabel("Message").pressSequentially("Hi Alice! Ready for launch?", { delay: 10 });
    await alice.getByText("Bob is typing…").waitFor(WAIT);
    await bob.getByLabel("Message").press("Enter");
    await message(alice, "Hi Alice! Ready for launch?").waitFor(WAIT);
    await alice.getByText("Bob is typing…").waitFor({ state: "hidden", ...WAIT });
    await bob.locator(".msg.pending").first().waitFor({ state: "detached", ...WAIT });
    await bob.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat.png` });

    // Connection lost: the indicator says so, a message sent meanwhile waits, then goes out.
    await proxy.cut();
    await alice.locator('.conn[data-state="reconnecting"]').waitFor(WAIT);
    await alice.locator(".banner").waitFor({ state: "visible", ...WAIT });
    await say(alice, "Sent while offline");
    await alice.locator(".msg.pending", { hasText: "Sent while offline" }).waitFor(WAIT);
    await alice.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat-offline.png` });
    proxy.restore();
    await alice.locator('.conn[data-state="open"]').waitFor(WAIT);
    await message(bob, "Sent while offline").waitFor(WAIT);
    await alice.locator(".msg.pending").first().waitFor({ state: "detached", ...WAIT });
    expect(await message(bob, "Sent while offline").count()).toBe(1);

    // A reload keeps the session and the room's history, in order and without duplicates.
    await bob.reload();
    await bob.locator('.conn[data-state="open"]').waitFor(WAIT);
    const texts = await bob.locator(".list .msg .text").allTextContents();
    expect(texts.slice(-3)).toEqual(["Hello Bob <b>not bold</b>", "Hi Alice! Ready for launch?", "Sent while offline"]);
    expect(new Set(texts).size).toBe(texts.length);
    expect(await bob.locator(".msg.pending").count()).toBe(0);

    // Every connect and reconnect used a fresh single-use ticket; no token ever went into a URL.
    const tickets = proxy.urls.map((u) => new URL(u).searchParams.get("ticket"));
    expect(proxy.urls.length).toBeGreaterThan(1);
    expect(proxy.urls.filter((u) => new URL(u).searchParams.has("token"))).toEqual([]);
    expect(tickets.every((t) => t !== null && /^[A-Za-z0-9_-]{43}$/.test(t))).toBe(true);
    expect(new Set(tickets).size).toBe(tickets.length);
    expect(pageErrors).toEqual([]);
  });

  test("a deleted message disappears from the quotes of replies, live and after a reload", async () => {
    await setup();
    const page = await openPage();
    await signIn(page, "Bob", "bob");
    const alice = await devLogin(url(), "alice", "Alice");
    const aliceApi = new ChatClient({ baseUrl: url(), token: alice.token });
    const bobApi = new ChatClient({ baseUrl: url(), token: (await devLogin(url(), "bob", "Bob")).token });
    const { room } = await aliceApi.createGroup("Oops", ["bob"]);
    const secret = await aliceApi.postMessage(room.id, { text: "my password is hunter2" });
    await bobApi.postMessage(room.id, { text: "delete that!", replyTo: secret.id });

    await openRoom(page, room.id);
    const quote = message(page, "delete that!").locator("blockquote");
    await expect.poll(() => quote.textContent(), WAIT).toContain("my password is hunter2");

    const res = await fetch(`${url()}/api/rooms/${room.id}/messages/${secret.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(res.status).toBe(200);
    await expect.poll(() => quote.textContent(), WAIT).toBe("deleted message");
    await page.getByText("This message was deleted.").waitFor(WAIT);
    expect(await page.locator(".list").textContent()).not.toContain("hunter2");

    await page.reload();
    await page.locator('.conn[data-state="open"]').waitFor(WAIT);
    await expect.poll(() => message(page, "delete that!").locator("blockquote").textContent(), WAIT).toBe("deleted message");
    expect(await page.locator(".list").textContent()).not.toContain("hunter2");
    expect(pageErrors).toEqual([]);
  });

  test("a room the user may not enter says so instead of spinning", async () => {
    await setup();
    const page = await openPage();
    await signIn(page, "Mallory", "mallory");
    const aliceApi = new ChatClient({ baseUrl: url(), token: (await devLogin(url(), "alice", "Alice")).token });
    const { room } = await aliceApi.createGroup("Private", ["bob"]);
    await page.goto(`${url()}/#${room.id}`);
    await page.getByText(`You are not a member of #${room.id}.`).waitFor(WAIT);
    expect(pageErrors).toEqual([]);
  });
});
