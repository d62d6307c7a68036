/// <reference types="node" />
/**
 * The room socket as workerd serves it to a client that offers permessage-deflate, as every
 * browser does. `wrangler dev` puts its own proxy in front of the Worker (the proxy answers the
 * browser's handshake), so this starts the project's Worker in workerd with a socket of its
 * own, the way the bench does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs modules of the bench
import { buildWorkers } from "../../bench/lib/build.mjs";
// @ts-expect-error: plain .mjs modules of the bench
import { applyMigrations, devTokens, startWorkerd } from "../../bench/lib/servers.mjs";

describe("socket compression", () => {
  let stop: (() => Promise<void>) | undefined;
  let stateDir = "";
  afterAll(async () => {
    await stop?.();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("is declined even when the client offers permessage-deflate", async () => {
    // Compressing costs the room one deflate per socket for every frame it broadcasts.
    stateDir = await mkdtemp(join(tmpdir(), "edge-chat-deflate-"));
    await buildWorkers({});
    await applyMigrations(stateDir);
    const workerd = await startWorkerd(stateDir, { DEV_MODE: "true" });
    stop = () => workerd.stop();
    const base: string = workerd.urls.ours;
    const { token } = ((await devTokens(base, ["alice"])) as { token: string }[])[0]!;
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/parties/room/community?token=${token}`, { perMessageDeflate: true });
    const welcome = await new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(data.toString()));
      ws.once("error", reject);
    });
    expect(JSON.parse(welcome)).toMatchObject({ type: "welcome" });
    expect(ws.extensions).toBe("");
    ws.close();
  });
});
