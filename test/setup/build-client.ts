/// <reference types="node" />
/**
 * The node project's global setup: builds `edge-chat/client` (scripts/build-client.mjs) before
 * any test file loads, so the tests that import the package by its name (through package.json
 * "exports", as an app would) run against the current source.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export default async function setup(): Promise<void> {
  const script = fileURLToPath(new URL("../../scripts/build-client.mjs", import.meta.url));
  await promisify(execFile)(process.execPath, [script]);
}
