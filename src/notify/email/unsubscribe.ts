/**
 * Signed one-click unsubscribe links (RFC 8058). A link works without signing in, so the link
 * itself is the proof: `base64url(JSON {v, sub, off}) "." base64url(HMAC-SHA256)`. It never
 * expires (an old email's link should still work) and using it twice changes nothing more.
 *
 * The key is `UNSUBSCRIBE_SECRET`, else one derived from the token signing secret (JWT_SECRET,
 * or in dev mode the built-in dev secret), so a deployment with JWT_SECRET needs nothing more.
 * Rotating that secret invalidates every link already sent; set UNSUBSCRIBE_SECRET to keep them.
 */
import type { Bindings } from "../../env";
import { base64url, fromBase64url } from "../../lib/base64";
import { ApiError } from "../../lib/errors";
import { signingSecret } from "../../middleware/auth";
import { isUserId } from "../../protocol";

export const UNSUBSCRIBE_PATH = "/api/notifications/unsubscribe";

/** What a link turns off. Only the email channel so far. */
export type UnsubscribeTarget = "email";

export interface UnsubscribeClaim {
  userId: string;
  off: UnsubscribeTarget;
}

const MAX_TOKEN_LENGTH = 512;
/** Keeps these signatures apart from anything else the same secret signs (HS256 tokens). */
const DERIVATION_LABEL = "edge-chat one-click unsubscribe v1";

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key, or null when there is no secret to make it from (then links cannot exist). */
export function unsubscribeKey(env: Bindings): Promise<CryptoKey> | null {
  const own = env.UNSUBSCRIBE_SECRET?.trim();
  const base = own ? null : signingSecret(env).secret;
  if (!own && base === null) return null;
  const cacheKey = own ? `own:${own}` : `derived:${base}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = own ? hmacKey(new TextEncoder().encode(own)) : derive(base!);
    keys.set(cacheKey, key);
  }
  return key;
}

const hmacKey = (raw: BufferSource) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

async function derive(secret: string): Promise<CryptoKey> {
  const parent = await hmacKey(new TextEncoder().encode(secret));
  return hmacKey(await crypto.subtle.sign("HMAC", parent, new TextEncoder().encode(DERIVATION_LABEL)));
}

function requireKey(env: Bindings): Promise<CryptoKey> {
  const key = unsubscribeKey(env);
  if (key === null) {
    throw new ApiError("unavailable", "unsubscribe links cannot be checked: set UNSUBSCRIBE_SECRET or JWT_SECRET");
  }
  return key;
}

export async function signUnsubscribeToken(env: Bindings, claim: UnsubscribeClaim): Promise<string> {
  const payload = base64url(new TextEncoder().encode(JSON.stringify({ v: 1, sub: claim.userId, off: claim.off })));
  const signature = await crypto.subtle.sign("HMAC", await requireKey(env), new TextEncoder().encode(payload));
  return `${payload}.${base64url(signature)}`;
}

/**
 * The claim of a genuine token. Malformed → 400; a signature that does not match (forged,
 * altered, or signed with another key) → 403. `crypto.subtle.verify` compares in constant time.
 */
export async function verifyUnsubscribeToken(env: Bindings, token: string | undefined): Promise<UnsubscribeClaim> {
  if (!token) throw new ApiError("bad_request", "token is missing");
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split(".") : [];
  const payload = parts.length === 2 ? parts[0]! : "";
  const signature = parts.length === 2 ? fromBase64url(parts[1]!) : null;
  if (!payload || signature === null || signature.byteLength !== 32) throw new ApiError("bad_request", "token is malformed");
  const genuine = await crypto.subtle.verify("HMAC", await requireKey(env), signature, new TextEncoder().encode(payload));
  if (!genuine) throw new ApiError("forbidden", "this unsubscribe link is not valid");
  // Only what we signed gets here, so a payload that does not parse is our own old format.
  const claim = parseClaim(fromBase64url(payload));
  if (claim === null) throw new ApiError("bad_request", "token is not understood");
  return claim;
}

function parseClaim(bytes: Uint8Array | null): UnsubscribeClaim | null {
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes ?? new Uint8Array())) as Record<string, unknown>;
    if (value.v === 1 && typeof value.sub === "string" && isUserId(value.sub) && value.off === "email") {
      return { userId: value.sub, off: value.off };
    }
  } catch {
    // not JSON
  }
  return null;
}

/** The link itself, e.g. for the footer of an email's text. */
export async function unsubscribeUrl(env: Bindings, baseUrl: string, userId: string): Promise<string> {
  const token = await signUnsubscribeToken(env, { userId, off: "email" });
  return `${baseUrl.replace(/\/+$/, "")}${UNSUBSCRIBE_PATH}?token=${token}`;
}

/** RFC 8058's pair: mail clients show an "Unsubscribe" button that POSTs to the link. */
export async function unsubscribeHeaders(env: Bindings, baseUrl: string, userId: string): Promise<Record<string, string>> {
  return {
    "List-Unsubscribe": `<${await unsubscribeUrl(env, baseUrl, userId)}>`,
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}
