/** What the tests' local servers (key sets, push and email stand-ins, webhook receiver) share. */
import type { Server } from "node:http";

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (`port` 0: any free one) and says where, with a close that ends every connection. */
export async function listen(server: Server, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A vitest globalSetup that starts a server on the port vitest.config.ts put in `variable`. */
export function onConfiguredPort(variable: string, start: (port: number) => Promise<{ close(): Promise<void> }>) {
  return async () => {
    const port = Number(process.env[variable]);
    if (!port) throw new Error(`vitest.config.ts sets ${variable}`);
    const server = await start(port);
    return () => server.close();
  };
}
