#!/usr/bin/env node
/**
 * Prints a new VAPID key pair for Web Push, in the format the Worker's secrets take
 * (docs/notifications.md): VAPID_PUBLIC_KEY, the uncompressed P-256 point (65 bytes), and
 * VAPID_PRIVATE_KEY, the private scalar (32 bytes), both base64url. The same format as
 * `npx web-push generate-vapid-keys`, without installing anything.
 *
 *   node scripts/vapid-keys.mjs
 *   node scripts/vapid-keys.mjs | grep PRIVATE | cut -d= -f2 | npx wrangler secret put VAPID_PRIVATE_KEY --env production
 */
import { webcrypto } from "node:crypto";

const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
const publicKey = Buffer.from(await webcrypto.subtle.exportKey("raw", pair.publicKey)).toString("base64url");
const { d } = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
console.log(`VAPID_PUBLIC_KEY=${publicKey}`);
console.log(`VAPID_PRIVATE_KEY=${d}`);
