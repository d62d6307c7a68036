/// <reference types="node" />
/**
 * A TCP proxy in front of the dev server, for dropping a client's connections the way a
 * network does: `cut()` destroys every connection through it at once (sockets and pending
 * REST requests alike), and while `down` it refuses new ones. Nothing is faked above TCP.
 */
import { createServer, connect, type Socket } from "node:net";
import { freePort } from "../../scripts/ports.mjs";

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: give this to a client instead of the server's URL. */
  url: string;
  /** Refuse new connections (true) or pass them on (false). */
  down: boolean;
  /** Destroys every open connection now. */
  cut(): void;
  /** How many connections it has accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let accepted = 0;
  const proxy: TcpProxy = {
    url: "",
    down: false,
    cut: () => {
      for (const s of open) s.destroy();
      open.clear();
    },
    get accepted() {
      return accepted;
    },
    close: () => new Promise<void>((resolve) => (proxy.cut(), server.close(() => resolve()))),
  };
  const server = createServer((client) => {
    if (proxy.down) return void client.destroy();
    accepted++;
    const upstream = connect(Number(port), hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(a);
      a.pipe(b);
      a.on("error", () => b.destroy());
      a.on("close", () => (open.delete(a), b.destroy()));
    }
  });
  const listenPort = await freePort();
  await new Promise<void>((resolve) => server.listen(listenPort, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${listenPort}`;
  return proxy;
}
