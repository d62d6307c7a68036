/** Ports for the local servers the tests, the bench and the chaos run start. */
import { createServer } from "node:net";

/**
 * A port nothing listens on right now, drawn from below the kernel's ephemeral range
 * (32768-60999 on Linux). A port the OS hands out for `listen(0)` is ephemeral, so the many
 * outgoing connections workerd and npm open before our servers start can take it in the
 * meantime (CI once failed with EADDRINUSE that way); ports below the range are only ever
 * taken by someone listening on purpose, which the probe here rules out.
 */
export async function freePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port between 20000 and 32000 after 50 tries");
}

/** Whether a server could listen on `port` on 127.0.0.1 right now. */
export function canListen(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
