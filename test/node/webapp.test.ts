/// <reference types="node" />
/**
 * The web app in headless Chromium against `wrangler dev`, each person in a browser context of
 * their own: signing in per tab, starting direct messages and groups from the people picker,
 * group settings, archiving, staff answering website visitors, the phone layout, and axe-core's
 * accessibility check on the main screens. The chat itself: webapp-chat.test.ts; search,
 * notifications, administration and long rooms: webapp-more.test.ts.
 */
import { afterAll, describe, expect, test } from "vitest";
import { expectAccessible, goTo, message, openRoom, say, screenshot, WAIT, WebApp } from "../e2e/harness";

let web: WebApp | undefined;
let ready: Promise<WebApp> | undefined;
/** Started inside the tests, so a missing Chromium or a server that does not start fails them. */
const setup = () => (ready ??= WebApp.start().then((w) => (web = w)));

afterAll(async () => {
  await web?.stop();
});

describe("web app: people and rooms", () => {
  test("each tab signs in on its own, and a reload keeps that tab's person", async () => {
    const w = await setup();
    const alice = await w.person("Alice", "alice");
    await screenshot(alice.page, "room-list");
    // A second tab of the same browser starts signed out and signs in as someone else.
    const second = await alice.context.newPage();
    await second.goto(w.url);
    await second.getByLabel("Your name").waitFor(WAIT);
    await screenshot(second, "sign-in");
    await second.getByLabel("Your name").fill("Bob");
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.locator(".me", { hasText: "@bob" }).waitFor(WAIT);

    await alice.page.reload();
    await alice.page.locator(".me", { hasText: "@alice" }).waitFor(WAIT);
    await second.reload();
    await second.locator(".me", { hasText: "@bob" }).waitFor(WAIT);

    // Signing out ends this tab's session only.
    await second.getByRole("button", { name: "Sign out" }).click();
    await second.getByLabel("Your name").waitFor(WAIT);
    await alice.page.reload();
    await alice.page.locator(".me", { hasText: "@alice" }).waitFor(WAIT);
    await alice.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("a direct message and a group are started from the people picker, and the DM is titled with the other person", async () => {
    const w = await setup();
    const carol = await w.member("Carol", "carol");
    const alice = await w.person("Alice", "alice");
    const bob = await w.person("Bob", "bob");

    // A direct message: pick one person.
    await alice.page.getByRole("button", { name: "New conversation" }).click();
    const picker = alice.page.getByRole("dialog", { name: "New conversation" });
    await picker.getByLabel("Search people").fill("bo");
    await picker.getByRole("checkbox", { name: /Bob/ }).check();
    await screenshot(alice.page, "people-picker");
    await picker.getByRole("button", { name: "Message Bob" }).click();
    await alice.page.getByRole("heading", { level: 1, name: "Bob" }).waitFor(WAIT);
    const dmId = decodeURIComponent(new URL(alice.page.url()).hash.slice(1));
    expect(dmId).not.toBe("");
    await alice.page.locator(".room-item", { hasText: "Bob" }).waitFor(WAIT);
    await alice.page.locator('.conn[data-state="open"]').waitFor(WAIT);
    await say(alice.page, "Hi Bob, lunch?");

    // Bob's list gains the room, titled Alice, with an unread badge, without a reload.
    const bobsRoom = bob.page.locator(".room-item", { hasText: "Alice" });
    await bobsRoom.getByLabel("1 unread").waitFor(WAIT);
    await expect.poll(() => bobsRoom.locator(".room-last").textContent(), WAIT).toBe("Alice: Hi Bob, lunch?");
    await bobsRoom.getByRole("link").click();
    await bob.page.getByRole("heading", { level: 1, name: "Alice" }).waitFor(WAIT);
    await message(bob.page, "Hi Bob, lunch?").waitFor(WAIT);
    expect(await bob.page.locator(".room-head").textContent()).not.toContain(dmId);
    await screenshot(bob.page, "direct-message");

    // A group: several people and a name.
    await alice.page.getByRole("button", { name: "New conversation" }).click();
    await picker.getByLabel("Search people").fill("");
    await picker.getByRole("checkbox", { name: /Bob/ }).check();
    await picker.getByRole("checkbox", { name: /Carol/ }).check();
    await picker.getByLabel("Group name").fill("Launch plans");
    await picker.getByRole("button", { name: "Create group" }).click();
    await alice.page.getByRole("heading", { level: 1, name: "Launch plans" }).waitFor(WAIT);
    const groupId = decodeURIComponent(new URL(alice.page.url()).hash.slice(1));
    await alice.page.getByText("3 members").waitFor(WAIT);

    // Group settings: roles and slow mode.
    await alice.page.getByRole("button", { name: "Group settings" }).click();
    const settings = alice.page.getByRole("dialog", { name: "Group settings" });
    await settings.getByLabel("Role of Bob").selectOption("moderator");
    await alice.page.getByText("Bob is now moderator.").waitFor(WAIT);
    await settings.getByLabel(/Slow mode/).selectOption("30");
    await alice.page.getByText("Slow mode changed.").waitFor(WAIT);
    await screenshot(alice.page, "group-settings");
    await settings.getByRole("button", { name: "Close" }).click();
    await alice.page.locator(".room-head", { hasText: "Slow mode 30 s" }).waitFor(WAIT);
    const details = await carol.roomDetails(groupId);
    expect(details.members.map((m) => [m.id, m.role]).sort()).toEqual([["alice", "admin"], ["bob", "moderator"], ["carol", "member"]]);
    expect((details.room as { slowModeSeconds?: number }).slowModeSeconds).toBe(30);

    // Bob is a moderator (exempt); a plain member is held back by slow mode, and told so.
    const carolPage = await w.person("Carol", "carol");
    await openRoom(carolPage.page, groupId);
    await say(carolPage.page, "First!");
    await message(carolPage.page, "First!").waitFor(WAIT);
    await carolPage.page.getByText(/Slow mode is on: you can send again in \d+ s/).waitFor(WAIT);
    await expect(carolPage.page.getByRole("button", { name: /Wait \d+ s/ }).isDisabled()).resolves.toBe(true);

    // Archiving takes a room out of the list; the archived list brings it back.
    await alice.page.getByRole("button", { name: "Archive Launch plans" }).click();
    await alice.page.locator(".rooms:not(.archived) .room-item", { hasText: "Launch plans" }).waitFor({ state: "detached", ...WAIT });
    await alice.page.getByRole("button", { name: "Show archived" }).click();
    await alice.page.getByRole("button", { name: "Restore Launch plans" }).click();
    await alice.page.locator(".rooms:not(.archived) .room-item", { hasText: "Launch plans" }).waitFor(WAIT);

    // A room id typed into the address that does not exist says so, and stays out of the list.
    await goTo(alice.page, "no-such-room");
    await alice.page.getByText("There is no such conversation.").waitFor(WAIT);
    expect(await alice.page.locator(".room-item", { hasText: "no-such-room" }).count()).toBe(0);

    for (const p of [alice, bob, carolPage]) await p.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("staff see a website visitor's room in their list and answer it", async () => {
    const w = await setup();
    const res = await fetch(`${w.url}/api/auth/visitor`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Guest" }) });
    const visitor = (await res.json()) as { token: string; roomId: string };
    const post = await fetch(`${w.url}/api/rooms/${visitor.roomId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${visitor.token}`, "content-type": "application/json" },
      body: JSON.stringify({ clientId: "v-1", text: "Do you ship to Norway?" }),
    });
    expect(post.status).toBe(201);

    const staff = await w.person("Sam Support", "sam", { roles: ["staff"] });
    const room = staff.page.locator(".room-item", { hasText: "Visitor: Guest" });
    await room.waitFor(WAIT);
    await expect(room.locator(".tag").textContent()).resolves.toBe("Visitor");
    await room.getByRole("link").click();
    await message(staff.page, "Do you ship to Norway?").waitFor(WAIT);
    await staff.page.getByText("Website visitor").waitFor(WAIT);
    await say(staff.page, "We do! Delivery takes 3 days.");
    await message(staff.page, "We do! Delivery takes 3 days.").waitFor(WAIT);

    // The visitor's side (the widget) reads the answer from the room.
    const history = await fetch(`${w.url}/api/rooms/${visitor.roomId}/messages`, { headers: { authorization: `Bearer ${visitor.token}` } });
    const { messages } = (await history.json()) as { messages: { text: string; author: { id: string } }[] };
    expect(messages.map((m) => [m.author.id, m.text])).toContainEqual(["sam", "We do! Delivery takes 3 days."]);

    // Someone without the role never sees it.
    const member = await w.person("Max", "max");
    await member.page.locator(".room-item", { hasText: "Community" }).waitFor(WAIT);
    expect(await member.page.locator(".room-item", { hasText: "Visitor: Guest" }).count()).toBe(0);
    await goTo(member.page, visitor.roomId);
    await member.page.getByText("You are not a member of this conversation.").waitFor(WAIT);
    expect(await member.page.locator(".room-item", { hasText: "Visitor" }).count()).toBe(0);
    await staff.context.close();
    await member.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("at 390 px wide the list shows Sign out in full, and a room opens full width with a way back", async () => {
    const w = await setup();
    const phone = await w.person("Pat", "pat", { width: 390, height: 844 });
    const signOut = phone.page.getByRole("button", { name: "Sign out" });
    await signOut.waitFor(WAIT);
    const box = await signOut.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(box!.y + box!.height).toBeLessThanOrEqual(844);
    // Nothing is wider than the screen.
    expect(await phone.page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await screenshot(phone.page, "phone-list");

    await phone.page.locator(".room-item", { hasText: "Community" }).getByRole("link").click();
    await phone.page.locator('.conn[data-state="open"]').waitFor({ state: "attached", ...WAIT });
    await say(phone.page, "Hello from a phone");
    await message(phone.page, "Hello from a phone").waitFor(WAIT);
    const composer = await phone.page.getByLabel("Message", { exact: true }).boundingBox();
    expect(composer!.x + composer!.width).toBeLessThanOrEqual(390);
    await expect(signOut.isVisible()).resolves.toBe(false);
    await screenshot(phone.page, "phone-room");
    await phone.page.getByRole("link", { name: "Back to conversations" }).click();
    await signOut.waitFor({ state: "visible", ...WAIT });
    await expectAccessible(phone.page, "the room list at 390 px");
    await phone.context.close();
    expect(w.pageErrors).toEqual([]);
  });

  test("the main screens have no serious or critical accessibility violations", async () => {
    const w = await setup();
    const page = await (await w.browser.newContext()).newPage();
    await page.goto(w.url);
    await page.getByLabel("Your name").waitFor(WAIT);
    await expectAccessible(page, "sign-in");
    await page.context().close();

    const admin = await w.person("Ada Admin", "ada", { roles: ["admin"] });
    await w.member("Bob", "bob");
    const { room } = await admin.api.createGroup("Design review", ["bob"]);
    await admin.api.postMessage(room.id, { text: "Mockups are in the drive, @bob please look" });
    await openRoom(admin.page, room.id);
    await message(admin.page, "Mockups are in the drive, @bob please look").waitFor(WAIT);
    await admin.page.getByRole("button", { name: "Members" }).click();
    await expectAccessible(admin.page, "a group room with its members");
    // The actions of a message, as keyboard focus shows them.
    await message(admin.page, "Mockups are in the drive, @bob please look").focus();
    await admin.page.getByRole("toolbar", { name: "Actions" }).waitFor(WAIT);
    await expectAccessible(admin.page, "a message with its actions");

    await admin.page.getByRole("button", { name: "Group settings" }).click();
    await admin.page.getByRole("dialog", { name: "Group settings" }).waitFor(WAIT);
    await expectAccessible(admin.page, "group settings");
    await admin.page.keyboard.press("Escape");

    await admin.page.getByRole("button", { name: "New conversation" }).click();
    await admin.page.getByRole("dialog", { name: "New conversation" }).getByRole("checkbox").first().waitFor(WAIT);
    await expectAccessible(admin.page, "the people picker");
    await admin.page.keyboard.press("Escape");

    await admin.page.getByRole("button", { name: "Notification settings" }).click();
    await admin.page.getByRole("dialog", { name: "Notification settings" }).getByLabel("Email me").waitFor(WAIT);
    await expectAccessible(admin.page, "notification settings");
    await admin.page.keyboard.press("Escape");

    await admin.page.getByRole("button", { name: /^Notifications/ }).click();
    await admin.page.getByRole("region", { name: "Notifications" }).waitFor(WAIT);
    await expectAccessible(admin.page, "the notification feed");
    await admin.page.getByRole("button", { name: /^Notifications/ }).click();

    await admin.page.getByRole("link", { name: "Admin" }).click();
    await admin.page.locator('[data-stat="rooms"]').filter({ hasText: /\d/ }).waitFor(WAIT);
    await expectAccessible(admin.page, "administration");

    await admin.page.getByLabel("Search", { exact: true }).fill("mockups");
    await admin.page.getByLabel("Search", { exact: true }).press("Enter");
    await admin.page.getByRole("heading", { name: "Search" }).waitFor(WAIT);
    await expectAccessible(admin.page, "search");
    await admin.context.close();
    expect(w.pageErrors).toEqual([]);
  });
});
