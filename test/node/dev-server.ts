/// <reference types="node" />
/**
 * Runs the real Worker under `wrangler dev` for tests that drive it from outside (browsers,
 * Node clients): fresh local D1 with migrations applied, dev mode on, its own port and state
 * directory so it never collides with a developer's `npm start`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export { devLogin } from "../../src/client";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };

export interface DevServer {
  url: string;
  persistDir: string;
  /** Everything wrangler printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function startDevServer(opts: { port?: number; persistDir?: string } = {}): Promise<DevServer> {
  const persistDir = opts.persistDir ?? (await mkdtemp(join(tmpdir(), "edge-chat-dev-")));
  const port = opts.port ?? (await freePort());
  await run(["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir]);

  const child = spawn(
    "npx",
    [
      "wrangler", "dev",
      "--port", String(port),
      "--ip", "127.0.0.1",
      "--persist-to", persistDir,
      "--var", "DEV_MODE:true",
      "--show-interactive-dev-session=false",
      // The inspector's default port would collide between parallel servers.
      "--inspector-port", String(await freePort()),
    ],
    // Its own process group, so stop() takes down npx, wrangler and workerd together.
    { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = {
    url,
    persistDir,
    output: () => output,
    async stop() {
      await stop(child, exited);
      // A state directory we made up is ours to remove; one the caller chose is theirs.
      if (!opts.persistDir) await rm(persistDir, { recursive: true, force: true });
    },
  };
  try {
    await waitForHealth(url, child, () => output);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer GET /api/health with 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${last}):\n${output()}`);
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const group = -child.pid;
  signal(group, "SIGTERM");
  const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
  if (!killed) {
    signal(group, "SIGKILL");
    await exited;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`npx ${args.join(" ")} failed (${code}):\n${output}`)),
    );
  });
}

function freePort(): Promise<number> {
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
