/// <reference types="node" />
/**
 * The rest of the web app against `wrangler dev` in headless Chromium: the notification bell,
 * search with highlights and trending topics, administration, and a room of 10,000 messages
 * that scrolls back to its first with only a few dozen of them in the page.
 */
import WebSocket from "ws";
import { afterAll, describe, expect, test } from "vitest";
import { goTo, message, openRoom, say, screenshot, WAIT, WebApp } from "../e2e/harness";

let web: WebApp | undefined;
let ready: Promise<WebApp> | undefined;
const setup = () => (ready ??= WebApp.start().then((w) => (web = w)));

afterAll(async () => {
  await web?.stop();
});

describe("web app: notifications, search, administration, long rooms", () => {
  test("a direct message rings the bell of someone in another room, and the notification opens its room", async () => {
    const w = await setup();
    const bob = await w.person("Bob", "bob");
    await openRoom(bob.page, "community");
    const alice = await w.person("Alice", "alice");
    await alice.page.getByRole("button", { name: "New conversation" }).click();
    await alice.page.getByRole("dialog").getByRole("checkbox", { name: /Bob/ }).check();
    await alice.page.getByRole("button", { name: "Message Bob" }).click();
    await alice.page.locator('.conn[data-state="open"]').waitFor(WAIT);
    await say(alice.page, "Got a minute for the release notes?");

    const bell = bob.page.getByRole("button", { name: "Notifications, 1 unread" });
    await bell.waitFor(WAIT);
    await bell.click();
    const item = bob.page.getByRole("region", { name: "Notifications" }).locator("li.unread");
    await expect.poll(() => item.textContent(), WAIT).toContain("Got a minute for the release notes?");
    await screenshot(bob.page, "notifications");
    await item.getByRole("button").first().click();
    await bob.page.getByRole("heading", { level: 1, name: "Alice" }).waitFor(WAIT);
    await message(bob.page, "Got a minute for the release notes?").waitFor(WAIT);
    await bob.page.getByRole("button", { name: "Notifications", exact: true }).waitFor(WAIT);
    await alice.context.close();
    await bob.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("search highlights the words found without running markup, and trending topics lead to it", async () => {
    const w = await setup();
    const a = await w.person("Alice", "alice");
    await w.member("Bob", "bob");
    const { room } = await a.api.createGroup("Infra", ["bob"]);
    await a.api.postMessage(room.id, { text: "The kubernetes rollout <script>alert(1)</script> starts today" });
    await a.api.postMessage(room.id, { text: "kubernetes nodes are healthy after the rollout" });
    await a.api.postMessage(room.id, { text: "lunch anyone?" });
    await openRoom(a.page, room.id);
    const topic = a.page.getByRole("navigation", { name: "Trending topics" }).getByRole("link", { name: "#kubernetes" });
    await topic.waitFor(WAIT);
    await topic.click();

    await a.page.getByRole("heading", { name: "Search" }).waitFor(WAIT);
    const results = a.page.locator(".results li");
    // Search reads D1, which the room fills on its flush: search again until both are found.
    // Only search again once the last search has answered (its status line shows): a click while
    // one is in flight clears the list after that search has filled it.
    const answered = a.page.locator(".search-page p[role=status]");
    await expect
      .poll(async () => {
        if ((await answered.count()) === 0) return -1;
        const found = await results.count();
        if (found < 2) await a.page.getByRole("button", { name: "Search", exact: true }).click();
        return found;
      }, { ...WAIT, interval: 500 })
      .toBe(2);
    await expect(a.page.locator(".results mark").first().textContent()).resolves.toBe("kubernetes");
    expect(await a.page.locator(".results script").count()).toBe(0);
    await expect(a.page.locator(".results").textContent()).resolves.toContain("<script>alert(1)</script>");
    await screenshot(a.page, "search");
    await a.page.locator(".results li", { hasText: "nodes are healthy" }).getByRole("button").click();
    await a.page.getByRole("heading", { level: 1, name: "Infra" }).waitFor(WAIT);
    await expect.poll(() => a.page.evaluate<string>("document.activeElement?.textContent ?? ''"), WAIT).toContain("nodes are healthy");
    await a.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("a send the server refuses as too fast waits the time it names, then goes out once by itself", async () => {
    const w = await setup();
    const alice = await w.member("Alice", "alice");
    const carol = await w.person("Carol", "carol");
    const { room } = await alice.createGroup("Slow lane", ["carol"]);
    const patch = await fetch(`${w.url}/api/rooms/${room.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${alice.options.token}`, "content-type": "application/json" },
      body: JSON.stringify({ slowModeSeconds: 5 }),
    });
    expect(patch.status).toBe(200);
    // Carol's other device has just sent: this tab does not know, and the room refuses.
    await carol.api.postMessage(room.id, { text: "from my phone" });
    await openRoom(carol.page, room.id);
    await say(carol.page, "from my laptop");
    await carol.page.getByText(/You are sending too fast \(slow mode.*\)\. Waiting \d+ s; your message will go out then\./).waitFor(WAIT);
    await carol.page.locator("article.msg.pending", { hasText: "from my laptop" }).waitFor(WAIT);
    await message(carol.page, "from my laptop").waitFor(WAIT);
    await expect.poll(() => carol.page.locator("article.msg.pending").count(), WAIT).toBe(0);
    const { messages } = await alice.history(room.id);
    expect(messages.map((m) => m.text)).toEqual(["from my phone", "from my laptop"]);
    await carol.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("turning on browser notifications registers the service worker and asks the push service", async () => {
    const w = await setup();
    const sw = await fetch(`${w.url}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get("content-type")).toContain("javascript");
    expect(await sw.text()).toContain("showNotification");

    const a = await w.person("Alice", "alice");
    await a.context.grantPermissions(["notifications"], { origin: w.url });
    await a.page.getByRole("button", { name: "Notification settings" }).click();
    const dialog = a.page.getByRole("dialog", { name: "Notification settings" });
    await dialog.getByRole("checkbox", { name: /Browser notifications/ }).click();
    // Headless Chromium has no push service to subscribe with: the app gets that far (worker
    // registered, server key fetched) and says why it stopped, leaving the box unticked.
    await dialog.getByRole("alert").filter({ hasText: /^Could not turn on browser notifications: / }).waitFor(WAIT);
    expect(await a.page.evaluate<string | undefined>("navigator.serviceWorker.getRegistration().then((r) => r?.scope)")).toBe(`${w.url}/`);
    await expect(dialog.getByRole("checkbox", { name: /Browser notifications/ }).isChecked()).resolves.toBe(false);
    await a.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("admins see live stats and add and delete a webhook; others have no admin page", async () => {
    const w = await setup();
    const admin = await w.person("Ada", "ada", { roles: ["admin"] });
    await admin.page.getByRole("link", { name: "Admin" }).click();
    await admin.page.getByRole("heading", { name: "Administration" }).waitFor(WAIT);
    await expect.poll(async () => Number(await admin.page.locator('[data-stat="rooms"]').textContent()), WAIT).toBeGreaterThan(0);

    await admin.page.getByLabel("Receiver URL").fill("http://127.0.0.1:9/hooks/chat");
    await admin.page.getByRole("checkbox", { name: "member.added" }).check();
    await admin.page.getByRole("button", { name: "Add webhook" }).click();
    await admin.page.getByText(/^whsec_/).waitFor(WAIT);
    const row = admin.page.locator(".hooks tr", { hasText: "http://127.0.0.1:9/hooks/chat" });
    await expect(row.textContent()).resolves.toContain("message.created, member.added");
    await screenshot(admin.page, "admin");
    await row.getByRole("button", { name: /Delete webhook/ }).click();
    await row.waitFor({ state: "detached", ...WAIT });

    const member = await w.person("Max", "max");
    await member.page.locator(".room-item").first().waitFor(WAIT);
    expect(await member.page.getByRole("link", { name: "Admin" }).count()).toBe(0);
    await goTo(member.page, "/admin");
    await member.page.getByText("Only admins can see this page.").waitFor(WAIT);
    await admin.context.close();
    await member.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("a room of 10,000 messages scrolls back to its first message with only a few dozen in the page", { timeout: 600_000 }, async () => {
    const w = await setup();
    const a = await w.person("Alice", "alice");
    await w.member("Bob", "bob");
    const { room } = await a.api.createGroup("Archive of everything", ["bob"]);
    await seed(w.url, a.token, room.id, 10_000);

    await openRoom(a.page, room.id);
    await message(a.page, "Message 10000").waitFor(WAIT);
    const rendered = () => a.page.locator("article.msg").count();
    let most = 0;
    // Scrolled to the top until the start of the room is there (each time near the top loads a page).
    await expect
      .poll(async () => {
        await a.page.locator(".list").evaluate((el) => (el.scrollTop = 0));
        most = Math.max(most, await rendered());
        return a.page.getByText("This is the start of Archive of everything.").count();
      }, { timeout: 400_000, interval: 100 })
      .toBe(1);
    await a.page.locator(".list").evaluate((el) => (el.scrollTop = 0));
    await message(a.page, "Message 1").waitFor(WAIT);
    await screenshot(a.page, "long-room-top");
    // Every message is loaded, a few dozen are in the page.
    expect(most).toBeGreaterThan(5);
    expect(most).toBeLessThan(120);
    const seqs = await a.page.locator("article.msg[data-seq]").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // And back down to the newest, from where a new message still arrives in view.
    await a.page.getByLabel("Chat history: Archive of everything").evaluate((el) => (el.scrollTop = el.scrollHeight));
    await message(a.page, "Message 10000").waitFor(WAIT);
    await say(a.page, "and one more");
    await message(a.page, "and one more").waitFor(WAIT);
    expect(await rendered()).toBeLessThan(120);
    await a.context.close();
    expect(w.pageErrors).toEqual([]);
  });
});

/** Sends `count` messages over one socket as fast as the room acks them. */
async function seed(baseUrl: string, token: string, roomId: string, count: number): Promise<void> {
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/parties/room/${roomId}?token=${token}`);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  // At most WINDOW unacknowledged, so the socket's buffer and the room's queue stay small: each
  // ack lets the next one go.
  const WINDOW = 200;
  let sent = 0;
  let acked = 0;
  const sendNext = () => {
    sent++;
    ws.send(JSON.stringify({ type: "send", clientId: `seed-${sent}`, text: `Message ${sent}` }));
  };
  const done = new Promise<void>((resolve, reject) => {
    ws.on("message", (raw) => {
      const frames = [JSON.parse(raw.toString())].flatMap((f) => (f.type === "batch" ? f.frames : [f]));
      for (const f of frames) {
        if (f.type === "error") reject(new Error(`seeding refused: ${f.code} ${f.message}`));
        if (f.type !== "ack") continue;
        if (++acked === count) resolve();
        else if (sent < count) sendNext();
      }
    });
  });
  while (sent < Math.min(WINDOW, count)) sendNext();
  await done;
  ws.close();
}
