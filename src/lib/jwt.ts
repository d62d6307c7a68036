/**
 * HS256 JSON Web Tokens with the algorithm pinned: the header must say HS256, so `alg: none`
 * and algorithm-confusion tokens never reach signature checking. `exp` is required.
 */
import { isDisplayName, type Identity } from "../protocol";

export interface Claims {
  sub: string;
  name: string;
  kind: Identity["kind"];
  exp: number;
  iat?: number;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
}

export interface VerifyOptions {
  issuer?: string;
  audience?: string;
  /** Allowed clock difference between issuer and verifier, in seconds. */
  leewaySeconds?: number;
  now?: number;
}

export class TokenError extends Error {}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new TokenError("malformed token");
  // A length of 4n+1 can never be valid base64; atob would throw a DOMException.
  if (s.length % 4 === 1) throw new TokenError("malformed token");
  const padded = s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (s.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    throw new TokenError("malformed token");
  }
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(fromBase64url(part)));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the uniform error below
  }
  throw new TokenError("malformed token");
}

export async function signToken(claims: Omit<Claims, "iat">, secret: string): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = { ...claims, iat: Math.floor(Date.now() / 1000) };
  const payload = base64url(encoder.encode(JSON.stringify(body)));
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(new Uint8Array(signature))}`;
}

export async function verifyToken(token: string, secret: string, options: VerifyOptions = {}): Promise<Claims> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("malformed token");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  if (header.alg !== "HS256") throw new TokenError("token algorithm must be HS256");
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    fromBase64url(signaturePart),
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) throw new TokenError("bad token signature");

  const claims = decodeJson(payloadPart);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const leeway = options.leewaySeconds ?? 30;
  if (typeof claims.exp !== "number") throw new TokenError("token has no expiry");
  if (claims.exp + leeway <= now) throw new TokenError("token expired");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || claims.nbf - leeway > now)) {
    throw new TokenError("token not valid yet");
  }
  if (options.issuer !== undefined && claims.iss !== options.issuer) throw new TokenError("wrong token issuer");
  if (options.audience !== undefined) {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(options.audience)) throw new TokenError("wrong token audience");
  }
  if (typeof claims.sub !== "string" || claims.sub.length === 0 || claims.sub.length > 64) {
    throw new TokenError("token subject is missing or invalid");
  }
  if (claims.kind !== "member" && claims.kind !== "visitor") throw new TokenError("token kind is invalid");
  const name = typeof claims.name === "string" ? claims.name.trim() : "";
  if (!isDisplayName(name)) throw new TokenError("token name must be 1-64 printable characters");
  return { ...(claims as unknown as Claims), name };
}
