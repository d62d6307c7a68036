/// <reference types="node" />
/**
 * The real Worker under `wrangler dev`, for everything that drives it from outside: the
 * Node-side tests (test/node/: browsers, restarts) and the crash-and-recover check (chaos/).
 * Each server has its own port, inspector port and state directory, so it never collides with
 * a developer's `npm start` or with another server.
 *
 * - `startDevServer()`: the one-call form for tests: fresh local D1 with migrations applied,
 *   dev mode on, `stop()` when done (it removes a state directory it made up itself).
 * - `WranglerDev`: a process that can be started, stopped politely, SIGKILLed like a crash and
 *   started again on the same port and state directory, with any `--var`s.
 * - `wrangler()`, `applyMigrations()`, `queryD1()`: one-shot wrangler commands on a state directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { canListen, freePort } from "./ports.mjs";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const childEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };

/** Runs `wrangler <args>` to completion and returns its stdout. */
export function wrangler(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (${code ?? signal}):\n${err || out}`));
    });
  });
}

export function applyMigrations(persistDir: string): Promise<string> {
  return wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir]);
}

/** Rows from the local D1 of `persistDir`. */
export async function queryD1<T>(persistDir: string, sql: string): Promise<T[]> {
  const out = await wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistDir, "--json", "--command", sql]);
  // The JSON array starts on a line of its own; anything before it is chatter.
  const start = out.startsWith("[") ? 0 : out.indexOf("\n[") + 1;
  const parsed = JSON.parse(out.slice(start)) as { results: T[]; success: boolean }[];
  return parsed.flatMap((r) => r.results);
}

/** Process groups started here and not yet stopped, for `killStarted` on Ctrl-C. */
const live = new Set<number>();

/** SIGKILLs every server this module started (and nothing else). */
export function killStarted(): void {
  for (const pid of live) signal(-pid, "SIGKILL");
  live.clear();
}

export interface WranglerDevOptions {
  port: number;
  persistDir: string;
  /** Passed as `--var NAME:value`. */
  vars: Record<string, string>;
  /** How long `start()` waits for GET /api/health to answer 200; 90 s unless given. */
  readyTimeoutMs?: number;
}

export class WranglerDev {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log = "";
  starts = 0;

  constructor(readonly options: WranglerDevOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Everything wrangler printed so far, over every start, for failure messages. */
  output(): string {
    return this.log;
  }

  /** Starts `wrangler dev` and resolves once GET /api/health answers 200. */
  async start(): Promise<void> {
    if (this.child) throw new Error("server already running");
    const args = [
      WRANGLER,
      "dev",
      "--port",
      String(this.options.port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      this.options.persistDir,
      "--show-interactive-dev-session=false",
      // The inspector's default port would collide between parallel servers.
      "--inspector-port",
      String(await freePort()),
      ...Object.entries(this.options.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    // Its own process group, so one signal takes wrangler, workerd and esbuild down together.
    const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    if (child.pid !== undefined) live.add(child.pid);
    this.starts++;
    this.log += `\n--- start #${this.starts} (pid ${child.pid}) ---\n`;
    child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => {
      if (child.pid !== undefined) live.delete(child.pid);
      if (this.child === child) this.child = null;
    });
    await this.waitForHealth(child);
  }

  /** SIGTERM to the whole process group, SIGKILL if it is still there after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    signal(-child.pid, "SIGTERM");
    const gone = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) {
      signal(-child.pid, "SIGKILL");
      await this.exited;
    }
    live.delete(child.pid);
    this.child = null;
  }

  /** SIGKILL to the whole process group: no shutdown hooks, no flushing, like a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    signal(-child.pid, "SIGKILL");
    await this.exited;
    live.delete(child.pid);
    this.child = null;
    await waitForPortFree(this.options.port);
  }

  private async waitForHealth(child: ChildProcess): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.log.slice(-4000)}`);
      }
      try {
        const res = await fetch(`${this.url}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status}: ${await res.text()}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(200);
    }
    await this.kill();
    throw new Error(
      `wrangler dev did not answer GET /api/health with 200 within ${timeoutMs / 1000} s (last: ${last}):\n${this.log.slice(-4000)}`,
    );
  }
}

export interface DevServer {
  url: string;
  persistDir: string;
  /** Everything wrangler printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * A server for tests: migrations applied to the state directory (a fresh temporary one unless
 * given), dev mode on unless `vars` say otherwise (they are `--var`s, e.g. a `JWKS_URL`), a free
 * port unless given. `stop()` removes the state directory if it was made up here; one the caller
 * chose is theirs.
 */
export async function startDevServer(opts: { port?: number; persistDir?: string; vars?: Record<string, string> } = {}): Promise<DevServer> {
  const persistDir = opts.persistDir ?? (await mkdtemp(join(tmpdir(), "edge-chat-dev-")));
  const dev = new WranglerDev({
    port: opts.port ?? (await freePort()),
    persistDir,
    vars: { DEV_MODE: "true", ...opts.vars },
    readyTimeoutMs: 60_000,
  });
  const server: DevServer = {
    url: dev.url,
    persistDir,
    output: () => dev.output(),
    async stop() {
      await dev.stop();
      if (!opts.persistDir) await rm(persistDir, { recursive: true, force: true });
    },
  };
  try {
    await applyMigrations(persistDir);
    await dev.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

export { freePort };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitForPortFree(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await canListen(port)) return;
    await sleep(100);
  }
}
