/// <reference types="node" />
/**
 * What the web app's browser tests share: one `wrangler dev` and one headless Chromium per test
 * file, people signed in through the app's own sign-in screen (each in their own browser
 * context, as two people on two machines), screenshots and the axe-core accessibility check.
 */
import { mkdirSync } from "node:fs";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { ChatClient, devLogin } from "../../src/client";
import type { ServiceRole } from "../../src/protocol";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
export const WAIT = { timeout: 20_000 };

/** Budgets a person would never reach; tests that are about a limit set their own. */
export const RAISED_LIMITS = {
  RATE_SENDS: "100000/1m",
  RATE_FRAMES: "100000/1m",
  RATE_CONNECTIONS: "100000/1m",
  RATE_TICKETS: "100000/1m",
  RATE_UPLOADS: "100000/1m",
  RATE_SEARCHES: "100000/1m",
  // Search and the room list read D1, which a room writes to on its flush.
  FLUSH_INTERVAL_MS: "300",
};

export interface Person {
  context: BrowserContext;
  page: Page;
  id: string;
  name: string;
  /** The same person over REST, for setting up what a test needs quickly. */
  api: ChatClient;
  token: string;
}

export class WebApp {
  readonly pageErrors: string[] = [];
  private constructor(
    readonly server: DevServer,
    readonly browser: Browser,
  ) {}

  static async start(vars: Record<string, string> = {}): Promise<WebApp> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is needed at ${CHROMIUM} for the web app tests: install it with ` +
          `"apt-get install -y chromium", or point CHROMIUM_PATH at a Chromium binary.`,
      );
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    const [server, browser] = await Promise.all([
      startDevServer({ vars: { ...RAISED_LIMITS, ...vars } }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
      }),
    ]);
    return new WebApp(server, browser);
  }

  get url(): string {
    return this.server.url;
  }

  async stop(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.stop();
  }

  /** A person in a browser context of their own, signed in through the sign-in screen. */
  async person(name: string, id: string, opts: { roles?: ServiceRole[]; width?: number; height?: number } = {}): Promise<Person> {
    const context = await this.browser.newContext({ viewport: { width: opts.width ?? 1200, height: opts.height ?? 780 } });
    const page = await context.newPage();
    page.on("pageerror", (err) => this.pageErrors.push(`${id}: ${err.message}`));
    await page.goto(this.url);
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("User id").fill(id);
    if (opts.roles?.includes("staff")) await page.getByRole("checkbox", { name: /Staff/ }).check();
    if (opts.roles?.includes("admin")) await page.getByRole("checkbox", { name: /Admin/ }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor(WAIT);
    const session = await devLogin(this.url, id, name, opts.roles);
    return { context, page, id, name, token: session.token, api: new ChatClient({ baseUrl: this.url, token: session.token }) };
  }

  /** Someone who exists (has signed in once) but has no browser open. */
  async member(name: string, id: string): Promise<ChatClient> {
    const session = await devLogin(this.url, id, name);
    return new ChatClient({ baseUrl: this.url, token: session.token });
  }
}

/** Goes to an address within the app (`#<roomId>`, `#/admin`) as a link would. */
export async function goTo(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

export async function openRoom(page: Page, roomId: string): Promise<void> {
  await goTo(page, roomId);
  await page.locator('.conn[data-state="open"]').waitFor(WAIT);
}

export async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

/** A stored message (not a send on its way) whose whole text is `text`. */
export const message = (page: Page, text: string) =>
  page.locator("article.msg:not(.pending)").filter({ has: page.locator(".text").getByText(text, { exact: true }) });

/**
 * Waits until `locator` has the keyboard focus: the app moves focus in an effect after it
 * renders, and keys typed before that would go to whatever had it.
 */
export async function focused(locator: Locator): Promise<void> {
  await expect.poll(() => locator.evaluate((el) => el === el.ownerDocument.activeElement), WAIT).toBe(true);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/** No serious or critical accessibility violation (axe-core's WCAG 2 A/AA rules) on what is shown. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n    ")}`);
  expect(bad, `axe on ${what}`).toEqual([]);
}
