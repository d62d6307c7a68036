/// <reference types="node" />
/**
 * The visitor widget (/widget.js) on another site, in a real headless Chromium against
 * `wrangler dev`: a shop's page (its own origin, listed in ALLOWED_ORIGINS) carries the script
 * tag; a visitor writes, a staff user (the typed client in Node) answers, the conversation
 * survives reloads and the token's renewal. The page's styles and the widget's stay apart, and a
 * site that is not allowed is told so and creates nothing.
 *
 * The shop and the other site are `shop.test` and `evil.test`, both resolved to 127.0.0.1 by
 * Chromium: dev mode allows every localhost origin, so a refused site needs another name.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { gzipSync } from "node:zlib";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { afterAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { ChatClient, devLogin, RoomConnection, type Message } from "../../src/client";
import type { ServerFrame } from "../../src/protocol";
import { freePort, queryD1, startDevServer, type DevServer } from "../../scripts/dev-server";

// The page's globals, for the callbacks given to page.evaluate: they run in the page, and this
// file is typed for Node (the DOM library would clash with the Workers types of the root config).
declare const document: any, window: any, localStorage: any, getComputedStyle: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? "/tmp";
const WAIT = { timeout: 15_000 };
/** Visitor tokens live 40 s here, so the widget renews one within the test (at half its life). */
const TOKEN_TTL_S = 40;

let server: DevServer | undefined;
let browser: Browser | undefined;
let host: Server | undefined;
let shop = "";
let evil = "";
let ready: Promise<void> | undefined;
const pageErrors: string[] = [];
const sockets: RoomConnection[] = [];

/** Started from inside the tests, so a missing Chromium or server fails them instead of skipping. */
function setup(): Promise<void> {
  return (ready ??= start());
}

async function start(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is needed at ${CHROMIUM}: "apt-get install -y chromium", or point CHROMIUM_PATH at one.`);
  }
  const port = await freePort();
  shop = `http://shop.test:${port}`;
  evil = `http://evil.test:${port}`;
  await Promise.all([
    startDevServer({ vars: { ALLOWED_ORIGINS: shop, VISITOR_TOKEN_TTL_S: String(TOKEN_TTL_S), RATE_SENDS: "1000/1m" } }).then((s) => (server = s)),
    chromium
      .launch({
        executablePath: CHROMIUM,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-quic",
          "--host-resolver-rules=MAP shop.test 127.0.0.1, MAP evil.test 127.0.0.1",
        ],
      })
      .then((b) => (browser = b)),
  ]);
  host = await serveHostPages(port);
}

afterAll(async () => {
  for (const s of sockets) s.close();
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => (host ? host.close(resolve) : resolve(undefined)));
});

function url(): string {
  if (!server) throw new Error("dev server is not running");
  return server.url;
}

// ---- The host site -------------------------------------------------------------------

/** Styles a careless (or hostile) site might have: none of them may change the widget. */
const HOSTILE_CSS = `
  html { font-size: 30px; }
  * { font-family: "Courier New", monospace !important; letter-spacing: 3px !important; text-transform: uppercase; box-sizing: content-box; }
  body { color: rgb(255, 0, 0); line-height: 3; font-size: 22px; text-align: center; }
  button { background: rgb(0, 255, 0) !important; padding: 30px; border-radius: 0; font-size: 40px; }
  h2, header, form, ol, li, p, input, textarea, section { margin: 40px; padding: 20px; color: blue !important; background: yellow; }
  div { border: 5px solid purple; }
  edge-chat-widget { display: block; color: rgb(255, 0, 0) !important; font-size: 50px !important; line-height: 5 !important; }
`;

/**
 * Elements with the tags and classes the widget's own style sheet names: if any of its rules
 * got out, these would change.
 */
const PROBES = `
  <header class="root right"><h2 class="title">Our shop</h2><button class="bubble close">Menu</button></header>
  <section class="panel"><p class="greeting status">Welcome</p>
    <ol class="list"><li class="msg mine" data-state="pending"><div class="text">Item</div><div class="meta">meta</div></li></ol>
    <form><p class="name"><input value="search"></p><div class="row"><textarea>notes</textarea><button class="send">Go</button></div></form>
  </section>`;

function page(opts: { css: boolean; widget: boolean }): string {
  const tag = `<script src="${url()}/widget.js" data-title="Shop help" data-color="#0f766e" async></script>`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Shop</title>${opts.css ? `<style>${HOSTILE_CSS}</style>` : ""}</head>
    <body>${PROBES}${opts.widget ? tag : ""}</body></html>`;
}

/** `/`: the shop with the widget; `/styled`: with hostile styles too; `/styled-bare`: the same without the widget. */
function serveHostPages(port: number): Promise<Server> {
  const pages: Record<string, () => string> = {
    "/": () => page({ css: false, widget: true }),
    "/styled": () => page({ css: true, widget: true }),
    "/styled-bare": () => page({ css: true, widget: false }),
  };
  const srv = createServer((req, res) => {
    const render = pages[new URL(req.url ?? "/", "http://x").pathname];
    if (!render) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(render());
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

// ---- Helpers ---------------------------------------------------------------------------

async function newPage(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
  if (!browser) throw new Error("browser is not running");
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  return { context, page };
}

const bubble = (page: Page) => page.getByRole("button", { name: /^Open chat: Shop help/ });
const panel = (page: Page) => page.getByRole("dialog", { name: "Shop help" });
/** A message in the widget whose whole text is `text`. */
const message = (page: Page, text: string) =>
  page.locator("edge-chat-widget .msg").filter({ has: page.locator(".text").getByText(text, { exact: true }) });

/** The id of the element focused inside the widget (its shadow root's active element). */
const focusedInWidget = (page: Page) =>
  page.evaluate(() => {
    const active = document.querySelector("edge-chat-widget")?.shadowRoot?.activeElement;
    return active ? `${active.tagName.toLowerCase()}${active.id ? `#${active.id}` : `.${active.className}`}` : null;
  });

const storageKey = () => `edge-chat.widget:${url()}`;
async function storedSession(page: Page): Promise<{ token: string; roomId: string; user: { id: string; name: string } } | null> {
  return JSON.parse((await page.evaluate((key) => localStorage.getItem(key), storageKey())) ?? "null");
}

function claimsOf(token: string): { sub: string; exp: number } {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
}

/** The page's room sockets behind a proxy that can hold back acks; it records every socket URL. */
async function proxySockets(page: Page) {
  let hold = false;
  const held: string[] = [];
  const urls: string[] = [];
  let toPage: ((text: string) => void) | null = null;
  const carriesAck = (f: ServerFrame): boolean => f.type === "ack" || (f.type === "batch" && f.frames.some(carriesAck));
  await page.routeWebSocket(/\/parties\/room\//, (ws) => {
    urls.push(ws.url());
    const upstream = ws.connectToServer();
    toPage = (text) => ws.send(text);
    upstream.onMessage((raw) => {
      const text = raw.toString();
      let ack = false;
      try {
        ack = carriesAck(JSON.parse(text) as ServerFrame);
      } catch {
        // a heartbeat
      }
      if (hold && ack) held.push(text);
      else ws.send(text);
    });
  });
  return {
    urls,
    holdAcks: () => void (hold = true),
    releaseAcks() {
      hold = false;
      for (const text of held.splice(0)) toPage?.(text);
    },
  };
}

/** A staff member in Node: the typed client, and every message of one room as it arrives. */
async function staffMember() {
  const session = await devLogin(url(), "sam", "Sam", ["staff"]);
  const api = new ChatClient({ baseUrl: url(), token: session.token, WebSocket: WebSocket as never });
  return {
    api,
    join(roomId: string) {
      const room = api.room(roomId);
      sockets.push(room);
      const seen: Message[] = [];
      room.on("message", (m) => seen.push(m));
      return { room, seen };
    },
  };
}

async function inside(box: Locator, viewport: { width: number; height: number }): Promise<void> {
  const b = await box.boundingBox();
  expect(b).not.toBeNull();
  expect(b!.x).toBeGreaterThanOrEqual(0);
  expect(b!.y).toBeGreaterThanOrEqual(0);
  expect(b!.x + b!.width).toBeLessThanOrEqual(viewport.width);
  expect(b!.y + b!.height).toBeLessThanOrEqual(viewport.height);
}

// ---- Tests -----------------------------------------------------------------------------

describe("the visitor widget", () => {
  test("is served as a script of under 25 KiB gzipped that any page may load", async () => {
    await setup();
    const res = await fetch(`${url()}/widget.js`, { headers: { origin: evil } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(gzipSync(body, { level: 9 }).byteLength).toBeLessThan(25 * 1024);
    // A classic script, one function that runs at once (not a module, not the web app).
    const text = body.toString().trim();
    expect(text.startsWith('"use strict";(()=>{') && text.endsWith("})();")).toBe(true);
    expect(text.includes("edge-chat-widget")).toBe(true);
  });

  test("lets a visitor on a phone-sized page write to staff, get answers live, and keep the conversation across reloads and a token renewal", async () => {
    await setup();
    const viewport = { width: 390, height: 844 };
    const { page } = await newPage(viewport);
    const proxy = await proxySockets(page);
    const staff = await staffMember();
    const before = (await staff.api.rooms()).rooms.filter((r) => r.kind === "visitor").length;

    await page.goto(`${shop}/`);
    // Keyboard only: focus the bubble, open it, and the cursor is in the message field.
    await bubble(page).focus();
    await page.keyboard.press("Enter");
    await panel(page).waitFor(WAIT);
    expect(await focusedInWidget(page)).toBe("textarea#ec-text");
    // On a phone the open panel covers the screen, and its close button stands in for the bubble.
    expect(await page.locator("edge-chat-widget .bubble").getAttribute("aria-expanded")).toBe("true");
    expect(await page.locator("edge-chat-widget .bubble").isVisible()).toBe(false);
    await inside(panel(page), viewport);
    await inside(page.getByRole("button", { name: "Send" }), viewport);
    await page.getByLabel("Your name (optional)").fill("Vera");

    // The first message makes the visitor and their room; it stays pending until acknowledged.
    proxy.holdAcks();
    await page.getByLabel("Message").fill("Hello, has my order <b>shipped</b>?");
    await page.keyboard.press("Enter");
    const first = message(page, "Hello, has my order <b>shipped</b>?");
    await first.and(page.locator('[data-state="pending"]')).waitFor(WAIT);
    expect(await first.locator(".meta").textContent()).toBe("Sending…");

    // Staff see the new visitor room in their list, and the message in it.
    await expect.poll(async () => (await staff.api.rooms()).rooms.filter((r) => r.kind === "visitor").length, WAIT).toBe(before + 1);
    const listed = (await staff.api.rooms()).rooms.find((r) => r.title === "Visitor: Vera");
    expect(listed).toMatchObject({ kind: "visitor", role: "admin" });
    const session = await storedSession(page);
    expect(session).toMatchObject({ roomId: listed!.id, user: { name: "Vera" } });
    const { room, seen } = staff.join(listed!.id);
    await expect.poll(() => seen.map((m) => m.text), WAIT).toContain("Hello, has my order <b>shipped</b>?");
    await page.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat-widget-pending.png` });

    proxy.releaseAcks();
    await first.and(page.locator('[data-state="sent"]')).waitFor(WAIT);
    expect(await first.locator(".meta").textContent()).toMatch(/Sent$/);
    expect(await page.getByLabel("Your name (optional)").isVisible()).toBe(false);

    // The answer arrives live, as text: markup in it is never parsed.
    await room.send(`Yes! <img src=x onerror="window.pwned=1">It left today.`);
    const answer = message(page, `Yes! <img src=x onerror="window.pwned=1">It left today.`);
    await answer.waitFor(WAIT);
    expect(await answer.locator(".author").textContent()).toBe("Sam");
    expect(await page.locator("edge-chat-widget img").count()).toBe(0);
    expect(await page.evaluate(() => "pwned" in window)).toBe(false);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat-widget.png` });

    // Closed (Escape, focus back on the bubble), a new answer shows the unread dot.
    await page.keyboard.press("Escape");
    await panel(page).waitFor({ state: "hidden", ...WAIT });
    expect(await focusedInWidget(page)).toBe("button.bubble");
    await room.send("Anything else I can help with?");
    await page.getByRole("button", { name: "Open chat: Shop help (1 new message)" }).waitFor(WAIT);
    expect(await page.locator("edge-chat-widget .dot").isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    await message(page, "Anything else I can help with?").waitFor(WAIT);
    await page.keyboard.press("Escape");
    expect(await bubble(page).getAttribute("aria-label")).toBe("Open chat: Shop help");
    expect(await page.locator("edge-chat-widget .dot").isVisible()).toBe(false);
    await page.keyboard.press("Enter");

    // A long conversation: after a reload the newest 50 come with the socket, older ones on request.
    for (let i = 1; i <= 52; i++) await staff.api.postMessage(listed!.id, { text: `Tracking note ${i}` });
    await message(page, "Tracking note 52").waitFor(WAIT);
    await page.reload();
    await bubble(page).click();
    await message(page, "Tracking note 52").waitFor(WAIT);
    expect(await message(page, "Hello, has my order <b>shipped</b>?").count()).toBe(0);
    await page.getByRole("button", { name: "Earlier messages" }).click();
    await first.waitFor(WAIT);
    const seqs = (await page.locator("edge-chat-widget .list .msg").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq")))));
    expect(seqs).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    expect(await first.getAttribute("class")).toContain("mine");
    expect(await page.getByRole("button", { name: "Earlier messages" }).isVisible()).toBe(false);
    expect((await storedSession(page))?.roomId).toBe(listed!.id);

    // Half the token's life on, the widget trades it for a new one: same visitor, same room.
    await expect.poll(async () => (await storedSession(page))?.token, { timeout: (TOKEN_TTL_S / 2 + 20) * 1000, interval: 1000 }).not.toBe(session!.token);
    const renewed = (await storedSession(page))!;
    expect(renewed.roomId).toBe(listed!.id);
    expect(claimsOf(renewed.token).sub).toBe(claimsOf(session!.token).sub);
    expect(claimsOf(renewed.token).exp).toBeGreaterThan(claimsOf(session!.token).exp);
    await room.send("Still there?");
    await message(page, "Still there?").waitFor(WAIT);
    await page.reload();
    await bubble(page).click();
    await message(page, "Still there?").waitFor(WAIT);
    // By the Send button this time: nothing (such as the bubble) covers it on a phone.
    await page.getByLabel("Message").fill("Yes, thanks!");
    await page.getByRole("button", { name: "Send" }).click();
    await message(page, "Yes, thanks!").and(page.locator('[data-state="sent"]')).waitFor(WAIT);
    await expect.poll(() => seen.map((m) => m.text), WAIT).toContain("Yes, thanks!");
    expect((await staff.api.rooms()).rooms.filter((r) => r.kind === "visitor").length).toBe(before + 1);

    // Every socket was opened with a single-use ticket, never with the token in the URL.
    expect(proxy.urls.length).toBeGreaterThanOrEqual(3);
    expect(proxy.urls.every((u) => new URL(u).searchParams.has("ticket") && !new URL(u).searchParams.has("token"))).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  test("keeps the page's styles out of the widget and its own out of the page", async () => {
    await setup();
    const viewport = { width: 1200, height: 800 };
    /** Computed styles of the widget's parts, with the panel open. */
    async function widgetStyles(path: string) {
      const { page, context } = await newPage(viewport);
      await page.goto(`${shop}${path}`);
      await bubble(page).click();
      await panel(page).waitFor(WAIT);
      const styles = await page.evaluate(() => {
        const root = document.querySelector("edge-chat-widget")!.shadowRoot!;
        const props = ["font-family", "font-size", "line-height", "letter-spacing", "text-transform", "color", "background-color", "padding-top", "margin-top", "border-top-width", "border-radius", "width", "height", "text-align"];
        const parts = [".bubble", ".panel", "h2", ".close", ".greeting", "textarea", "input", ".send", "label"];
        return Object.fromEntries(parts.map((sel) => {
          const style = getComputedStyle(root.querySelector(sel)!);
          return [sel, Object.fromEntries(props.map((p) => [p, style.getPropertyValue(p)]))];
        }));
      });
      await context.close();
      return styles;
    }
    /** Computed styles of the page's own elements. */
    async function pageStyles(path: string) {
      const { page, context } = await newPage(viewport);
      await page.goto(`${shop}${path}`);
      if (path === "/styled") await bubble(page).waitFor(WAIT);
      const styles = await page.evaluate(() => {
        const props = ["font-family", "font-size", "line-height", "color", "background-color", "padding-top", "margin-top", "border-top-width", "border-radius", "display", "position", "opacity", "width", "box-sizing"];
        return [...document.body.querySelectorAll("body > :not(script):not(edge-chat-widget), body > * *")].map((el) => {
          const style = getComputedStyle(el);
          return [el.tagName, el.className, props.map((p) => style.getPropertyValue(p)).join("|")];
        });
      });
      await context.close();
      return styles;
    }

    const plain = await widgetStyles("/");
    expect(await widgetStyles("/styled")).toEqual(plain);
    // The data-color setting, and the widget's own font, whatever the page says.
    expect(plain[".bubble"]!["background-color"]).toBe("rgb(15, 118, 110)");
    expect(plain[".panel"]!["font-size"]).toBe("14px");

    const bare = await pageStyles("/styled-bare");
    expect(bare.length).toBeGreaterThan(10);
    expect(await pageStyles("/styled")).toEqual(bare);
    expect(pageErrors).toEqual([]);
  });

  test("tells a visitor on a site that is not allowed that the chat is not available there, and creates nothing", async () => {
    await setup();
    const visitors = async () => (await queryD1<{ n: number }>(server!.persistDir, "SELECT COUNT(*) AS n FROM users WHERE kind = 'visitor'"))[0]!.n;
    const rooms = async () => (await queryD1<{ n: number }>(server!.persistDir, "SELECT COUNT(*) AS n FROM rooms WHERE kind = 'visitor'"))[0]!.n;
    const before = { visitors: await visitors(), rooms: await rooms() };

    const { page } = await newPage({ width: 1200, height: 800 });
    const warnings: string[] = [];
    page.on("console", (m) => void (m.type() === "warning" && warnings.push(m.text())));
    await page.goto(`${evil}/`);
    await bubble(page).click();
    await page.getByLabel("Message").fill("Hello from a site you do not know");
    await page.keyboard.press("Enter");
    const alert = page.locator("edge-chat-widget").getByRole("alert");
    await alert.waitFor(WAIT);
    expect(await alert.textContent()).toBe("This chat is not available on this website.");
    const failed = message(page, "Hello from a site you do not know");
    expect(await failed.getAttribute("data-state")).toBe("failed");
    expect(await failed.locator(".meta").textContent()).toBe("Not sent. Retry");
    // Whoever installs the widget learns why from the console.
    expect(warnings.some((w) => w.includes(`refused requests from ${evil}`) && w.includes("ALLOWED_ORIGINS"))).toBe(true);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/edge-chat-widget-refused.png` });

    expect(await page.evaluate((key) => localStorage.getItem(key), storageKey())).toBeNull();
    expect({ visitors: await visitors(), rooms: await rooms() }).toEqual(before);
    expect(pageErrors).toEqual([]);
  });
});
