/// <reference types="node" />
/**
 * `edge-chat/client` in a real headless Chromium against `wrangler dev`, bundled from the
 * package by its name as an app's bundler would: sends made while the server cannot be reached
 * wait in IndexedDB, survive the tab being closed, and go out once each, in order, from the next
 * page that opens the room; uploads go through XMLHttpRequest, which reports their progress.
 */
import { existsSync } from "node:fs";
import { build } from "esbuild";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import { ChatClient, devLogin, type Message } from "edge-chat/client";
import { ROOT, startDevServer, type DevServer } from "../../scripts/dev-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WAIT = { timeout: 20_000 };

let server: DevServer | undefined;
let browser: Browser | undefined;
let bundle = "";
let ready: Promise<void> | undefined;

/** Started inside the tests, so a missing Chromium is a failed test rather than a skipped one. */
function setup(): Promise<void> {
  return (ready ??= start());
}

async function start(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is needed at ${CHROMIUM}: apt-get install -y chromium, or point CHROMIUM_PATH at one.`);
  }
  const built = await build({
    stdin: { contents: 'export * from "edge-chat/client";', resolveDir: ROOT, loader: "ts" },
    bundle: true,
    format: "iife",
    globalName: "EdgeChat",
    platform: "browser",
    target: "chrome111",
    write: false,
    logLevel: "warning",
  });
  bundle = built.outputFiles[0]!.text;
  await Promise.all([
    startDevServer().then((s) => (server = s)),
    chromium
      .launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] })
      .then((b) => (browser = b)),
  ]);
}

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

function url(): string {
  if (!server) throw new Error("dev server is not running");
  return server.url;
}

/** A page on the server's origin (so IndexedDB and requests are that origin's) with the client loaded as `EdgeChat`. */
async function clientPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url()}/api/health`);
  await page.addScriptTag({ content: bundle });
  return page;
}

async function history(token: string, roomId: string): Promise<Message[]> {
  return (await new ChatClient({ baseUrl: url(), token }).history(roomId, { limit: 100 })).messages;
}

declare const EdgeChat: typeof import("edge-chat/client");
type PageGlobals = typeof globalThis & { room: import("edge-chat/client").RoomConnection; seen: string[] };

describe("edge-chat/client in a browser", () => {
  test("sends made offline wait in IndexedDB, outlive the tab, and go out once each, in order, from the next page", async () => {
    await setup();
    const alice = await devLogin(url(), "alice", "Alice");
    await devLogin(url(), "bob", "Bob");
    const { room } = await new ChatClient({ baseUrl: url(), token: alice.token }).createGroup("Offline", ["bob"]);
    const context = await browser!.newContext({ bypassCSP: true });

    // The first tab never reaches the room: every socket ticket request fails as if offline.
    const first = await clientPage(context);
    await first.route("**/api/auth/ticket", (route) => route.abort("internetdisconnected"));
    const shown = await first.evaluate(
      async ({ baseUrl, token, roomId }) => {
        const client = new EdgeChat.ChatClient({ baseUrl, token });
        const room = client.room(roomId);
        for (const text of ["on the train 1", "on the train 2", "on the train 3"]) void room.send(text).catch(() => {});
        await room.outboxSaved();
        return room.messages().map((m) => [m.text, EdgeChat.isPendingMessage(m)]);
      },
      { baseUrl: url(), token: alice.token, roomId: room.id },
    );
    expect(shown).toEqual([
      ["on the train 1", true],
      ["on the train 2", true],
      ["on the train 3", true],
    ]);
    await first.close();
    expect(await history(alice.token, room.id)).toEqual([]);

    // A new tab opens the room: the stored sends show as pending, then go out.
    const second = await clientPage(context);
    await second.evaluate(
      ({ baseUrl, token, roomId }) => {
        const g = globalThis as PageGlobals;
        g.seen = [];
        g.room = new EdgeChat.ChatClient({ baseUrl, token }).room(roomId);
        g.room.on("pending", (p) => g.seen.push(p.text));
      },
      { baseUrl: url(), token: alice.token, roomId: room.id },
    );
    await second.waitForFunction(() => {
      const g = globalThis as PageGlobals;
      return g.room.state === "open" && g.room.pending().length === 0 && g.room.messages().length === 3;
    }, undefined, WAIT);
    expect(await second.evaluate(() => (globalThis as PageGlobals).seen)).toEqual(["on the train 1", "on the train 2", "on the train 3"]);
    expect(await second.evaluate(() => (globalThis as PageGlobals).room.messages().map((m) => [m.text, EdgeChat.isPendingMessage(m)]))).toEqual([
      ["on the train 1", false],
      ["on the train 2", false],
      ["on the train 3", false],
    ]);
    expect((await history(alice.token, room.id)).map((m) => m.text)).toEqual(["on the train 1", "on the train 2", "on the train 3"]);

    // Nothing is left in IndexedDB to send again.
    await second.evaluate(() => (globalThis as PageGlobals).room.outboxSaved());
    // (A string: the Node-side type check has no DOM types.)
    const stored = await second.evaluate(`new Promise((resolve, reject) => {
      const open = indexedDB.open("edge-chat");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const all = open.result.transaction("outbox").objectStore("outbox").getAll();
        all.onsuccess = () => resolve(all.result);
      };
    })`);
    expect(stored).toEqual([[]]);
    await context.close();
  });

  test("an upload goes through XMLHttpRequest and reports its progress up to the whole file", async () => {
    await setup();
    const carol = await devLogin(url(), "carol", "Carol");
    const { room } = await new ChatClient({ baseUrl: url(), token: carol.token }).createGroup("Uploads", ["alice"]);
    const context = await browser!.newContext({ bypassCSP: true });
    const page = await clientPage(context);
    const kinds: string[] = [];
    page.on("request", (r) => r.url().includes("/attachments") && kinds.push(r.resourceType()));
    const result = await page.evaluate(
      async ({ baseUrl, token, roomId }) => {
        const client = new EdgeChat.ChatClient({ baseUrl, token });
        const file = new Blob(["a line of the report\n".repeat(200_000)], { type: "text/plain" });
        const progress: { loaded: number; total: number }[] = [];
        const attachment = await client.upload(roomId, file, "report.txt", { onProgress: (p) => progress.push(p) });
        return { size: file.size, attachment, progress };
      },
      { baseUrl: url(), token: carol.token, roomId: room.id },
    );
    expect(kinds).toEqual(["xhr"]);
    expect(result.attachment).toMatchObject({ name: "report.txt", size: result.size, mimeType: "text/plain" });
    expect(result.progress[0]).toEqual({ loaded: 0, total: result.size });
    expect(result.progress.at(-1)).toEqual({ loaded: result.size, total: result.size });
    const loaded = result.progress.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    await context.close();
  });
});
