/**
 * The VAPID key pair (RFC 8292) that signs every push: from the secrets `VAPID_PUBLIC_KEY` (the
 * uncompressed P-256 point, 65 bytes, base64url) and `VAPID_PRIVATE_KEY` (the 32-byte private
 * scalar, base64url): the format `npx web-push generate-vapid-keys` and
 * `node scripts/vapid-keys.mjs` print. Dev mode without them makes a pair once and keeps it in
 * D1 (`dev_keys`), so browsers' subscriptions survive a restart.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { VapidKeys } from "@block65/webcrypto-web-push";
import { readConfig } from "../../config";
import { devKeys } from "../../db/schema";
import type { Bindings } from "../../env";
import { base64url, fromBase64url } from "../../lib/base64";

const DEV_KEY_NAME = "vapid";
const DEV_SUBJECT = "mailto:notifications@localhost";

export type VapidState = { keys: VapidKeys } | { keys: null; reason: string };

/** Per isolate: the dev pair never changes once stored, and the secrets only with a new deploy. */
let devPair: Promise<{ publicKey: string; privateKey: string }> | null = null;

export async function vapidKeys(env: Bindings): Promise<VapidState> {
  const publicKey = env.VAPID_PUBLIC_KEY?.trim();
  const privateKey = env.VAPID_PRIVATE_KEY?.trim();
  const dev = readConfig(env).devMode;
  const subject = env.VAPID_SUBJECT?.trim() || (dev ? DEV_SUBJECT : "");
  if (!subject) return { keys: null, reason: "VAPID_SUBJECT is not set (a mailto: or https: address push services can reach you at)" };
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)) return { keys: null, reason: "VAPID_SUBJECT must be a mailto: or https: URL" };
  if (publicKey || privateKey) {
    const problem = checkPair(publicKey ?? "", privateKey ?? "");
    return problem ? { keys: null, reason: problem } : { keys: { subject, publicKey: publicKey!, privateKey: privateKey! } };
  }
  if (!dev) return { keys: null, reason: "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set (docs/notifications.md)" };
  devPair ??= storedDevPair(env.DB).catch((err) => {
    devPair = null;
    throw err;
  });
  return { keys: { subject, ...(await devPair) } };
}

function checkPair(publicKey: string, privateKey: string): string | null {
  const point = fromBase64url(publicKey);
  if (point === null || point.byteLength !== 65 || point[0] !== 4) return "VAPID_PUBLIC_KEY must be a base64url uncompressed P-256 point (65 bytes)";
  const scalar = fromBase64url(privateKey);
  if (scalar === null || scalar.byteLength !== 32) return "VAPID_PRIVATE_KEY must be a base64url P-256 private key (32 bytes)";
  return null;
}

/** The stored dev pair; the first isolate to get here makes it, and any racing one reads the winner's. */
async function storedDevPair(db: D1Database): Promise<{ publicKey: string; privateKey: string }> {
  const orm = drizzle(db);
  const read = async () => (await orm.select().from(devKeys).where(eq(devKeys.name, DEV_KEY_NAME)).get())?.value;
  let value = await read();
  if (!value) {
    await orm.insert(devKeys).values({ name: DEV_KEY_NAME, value: await generateVapidPair(), createdAt: new Date().toISOString() }).onConflictDoNothing();
    value = await read();
  }
  if (!value?.publicKey || !value.privateKey) throw new Error("dev_keys has no usable VAPID pair");
  return { publicKey: value.publicKey, privateKey: value.privateKey };
}

/** A new P-256 pair in the secrets' format. */
export async function generateVapidPair(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const raw = (await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  return { publicKey: base64url(raw), privateKey: jwk.d! };
}
