/// <reference types="node" />
/**
 * A `wrangler dev` process the chaos check can kill hard and start again on the same state
 * directory. test/node/dev-server.ts starts servers for tests but stops them politely and
 * has no way to pass vars; the chaos check needs SIGKILL and FLUSH_INTERVAL_MS, so it keeps
 * this small spawner of its own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const READY_TIMEOUT_MS = 90_000;
const childEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };

export interface ServerOptions {
  port: number;
  persistDir: string;
  vars: Record<string, string>;
}

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

/** Process groups started here and not yet killed, for `killStarted` on Ctrl-C. */
const live = new Set<number>();

/** SIGKILLs every server this module started (and nothing else). */
export function killStarted(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

export class ChaosServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log = "";
  starts = 0;

  constructor(readonly options: ServerOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  output(): string {
    return this.log;
  }

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
      "--inspector-port",
      String(await freePort()),
      ...Object.entries(this.options.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    // Its own process group, so one SIGKILL takes wrangler, workerd and esbuild down together.
    const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    if (child.pid !== undefined) live.add(child.pid);
    this.starts++;
    this.log += `\n--- start #${this.starts} (pid ${child.pid}) ---\n`;
    child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    await this.waitForHealth(child);
  }

  /** SIGKILL to the whole process group: no shutdown hooks, no flushing, like a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await this.exited;
    live.delete(child.pid);
    this.child = null;
    await waitForPortFree(this.options.port);
  }

  private async waitForHealth(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
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
    throw new Error(`wrangler dev was not healthy within ${READY_TIMEOUT_MS / 1000} s (last: ${last}):\n${this.log.slice(-4000)}`);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPortFree(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) return;
    await sleep(100);
  }
}
