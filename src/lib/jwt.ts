/**
 * Access tokens, with `jose` (WebCrypto, so it runs in workerd as it does in Node).
 *
 * Two kinds of key, each with its own algorithms, and the key decides, never the header alone:
 * - HS256 with the Worker's secret (`JWT_SECRET`, or the dev secret under `npm start`): the
 *   tokens this Worker mints itself (dev sign-in, visitors) and those a backend signs with the
 *   shared secret.
 * - RS256 and ES256 with the public keys of the integrator's identity provider, fetched from
 *   `JWKS_URL` (see `remoteKeySet`). jose only takes a key from the set whose type fits the
 *   header's algorithm (RSA for RS256, EC P-256 for ES256) and never takes a secret from it.
 *
 * A token whose header says HS256 is checked against the secret, whatever its `kid` says; so an
 * RS256 key's public half used as an HMAC secret (algorithm confusion) never verifies, and
 * without a secret HS256 is not accepted at all. `alg: none` and everything else is refused
 * before any key is looked at. `exp` is required.
 */
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  SignJWT,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";
import { isDisplayName, isServiceRole, isUserId, type Identity, type ServiceRole } from "../protocol";

export interface Claims {
  sub: string;
  name: string;
  kind: Identity["kind"];
  /** Only `staff` and `admin` are kept (others are ignored); always empty for visitors. */
  roles?: ServiceRole[];
  /** Where notification emails go; an `email` claim that is not an address is ignored. */
  email?: string;
  exp: number;
  iat?: number;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
}

/** Where verifying keys come from; at least one must be set. */
export interface VerifyKeys {
  /** The HS256 secret. */
  secret?: string | null;
  /** The identity provider's JSON Web Key Set, for RS256 and ES256. */
  jwksUrl?: string | null;
}

export interface VerifyOptions {
  issuer?: string;
  audience?: string;
  /** Allowed clock difference between issuer and verifier, in seconds. */
  leewaySeconds?: number;
}

/** The token is refused: 401. */
export class TokenError extends Error {}

/** The identity provider's key set could not be had (unreachable, not a key set): 503, not the caller's fault. */
export class KeySetUnavailable extends Error {}

const ASYMMETRIC = ["RS256", "ES256"] as const;

/**
 * How the remote key set is cached, per isolate and URL (jose's `createRemoteJWKSet`):
 * - the set is fetched on first use and used for up to `cacheMaxAge`; after that the next token
 *   waits for a fresh fetch;
 * - a token whose `kid` is not in the set makes jose fetch it again at once, unless the last
 *   fetch was less than `cooldownDuration` ago: then the token is refused (401) without a
 *   fetch. So a rotated key is picked up by the first token that carries it once the cooldown
 *   has passed, and a stream of made-up `kid`s costs at most one fetch per cooldown.
 * - a fetch that fails (timeout, not 200, not a key set) fails the request with 503.
 */
export const JWKS_CACHE = { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3_000 } as const;

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;
const remoteSets = new Map<string, RemoteKeySet>();

/** The cached remote key set for a URL: one per isolate, shared by every request. */
export function remoteKeySet(url: string): RemoteKeySet {
  let set = remoteSets.get(url);
  if (!set) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new KeySetUnavailable("JWKS_URL is not a URL");
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new KeySetUnavailable("JWKS_URL must be an http(s) URL");
    set = createRemoteJWKSet(parsed, JWKS_CACHE);
    remoteSets.set(url, set);
  }
  return set;
}

const encoder = new TextEncoder();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** HS256 with the Worker's secret; `iat` is set here. */
export async function signToken(claims: Omit<Claims, "iat">, secret: string): Promise<string> {
  const { roles, ...rest } = claims;
  const payload: JWTPayload = { ...rest, ...(roles && roles.length > 0 ? { roles } : {}) };
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt().sign(await hmacKey(secret));
}

export async function verifyToken(token: string, keys: VerifyKeys, options: VerifyOptions = {}): Promise<Claims> {
  const algorithms = [...(keys.secret ? ["HS256"] : []), ...(keys.jwksUrl ? ASYMMETRIC : [])];
  if (algorithms.length === 0) throw new TokenError("no key to verify tokens with");
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.leewaySeconds ?? 30,
    requiredClaims: ["exp"],
  };
  let payload: JWTPayload;
  try {
    const getKey: JWTVerifyGetKey = (header, jws) => keyFor(header, jws, keys);
    payload = (await jwtVerify(token, getKey, verifyOptions)).payload;
  } catch (err) {
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      // No `kid`, and more than one key of the right type: the first that verifies wins.
      payload = await tryEach(err, token, verifyOptions);
    } else {
      throw asTokenError(err);
    }
  }
  return checkClaims(payload);
}

async function keyFor(header: JWTHeaderParameters, jws: FlattenedJWSInput, keys: VerifyKeys) {
  if (header.alg === "HS256") {
    // The header chose HMAC; only the secret can verify it (a `kid` naming a public key is ignored).
    if (!keys.secret) throw new TokenError("HS256 tokens are not accepted here");
    return hmacKey(keys.secret);
  }
  if (!keys.jwksUrl) throw new TokenError(`${String(header.alg)} tokens are not accepted here`);
  const set = remoteKeySet(keys.jwksUrl);
  try {
    return await set(header, jws);
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
    if (err instanceof errors.JOSENotSupported) throw new TokenError("token algorithm is not accepted");
    throw new KeySetUnavailable(`the key set at JWKS_URL could not be used: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function tryEach(
  candidates: errors.JWKSMultipleMatchingKeys,
  token: string,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) continue;
      throw asTokenError(err);
    }
  }
  throw new TokenError("bad token signature");
}

/** What jose and the key lookup throw, as a refusal (401) or an outage (503). */
function asTokenError(err: unknown): Error {
  if (err instanceof TokenError || err instanceof KeySetUnavailable) return err;
  if (err instanceof errors.JWTExpired) return new TokenError("token expired");
  if (err instanceof errors.JWKSNoMatchingKey) return new TokenError("no key in the key set matches the token");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenError("bad token signature");
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenError("token algorithm is not accepted");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "iss") return new TokenError("wrong token issuer");
    if (err.claim === "aud") return new TokenError("wrong token audience");
    return new TokenError(`token claim: ${err.message}`);
  }
  // Malformed tokens (JWSInvalid, JWTInvalid), keys of the wrong type (TypeError), and the rest.
  if (err instanceof errors.JOSEError || err instanceof TypeError) return new TokenError("malformed or unverifiable token");
  return err instanceof Error ? err : new Error(String(err));
}

/** Enough to send to: one @, no spaces or controls, a dot in the domain, at most 254 characters. */
export const isEmailAddress = (s: string) => s.length <= 254 && /^[^\s@\u0000-\u001f<>]+@[^\s@\u0000-\u001f<>]+\.[^\s@\u0000-\u001f<>]+$/.test(s);

function checkClaims(claims: JWTPayload): Claims {
  const { sub, kind, exp } = claims;
  if (typeof sub !== "string" || !isUserId(sub)) {
    throw new TokenError("token subject must be a user id: 1-64 letters, digits, '-' or '_'");
  }
  if (kind !== "member" && kind !== "visitor") throw new TokenError("token kind is invalid");
  const name = typeof claims.name === "string" ? claims.name.trim() : "";
  if (!isDisplayName(name)) throw new TokenError("token name must be 1-64 printable characters");
  const raw = claims.roles;
  if (raw !== undefined && !(Array.isArray(raw) && raw.every((r) => typeof r === "string"))) {
    throw new TokenError("token roles must be a list of strings");
  }
  // Roles this service does not know are the identity provider's own: ignored, not refused.
  // Visitors never have roles.
  const roles = kind === "member" ? [...new Set((raw ?? []).filter(isServiceRole))] : [];
  const { email: rawEmail, ...rest } = claims as Omit<Claims, "sub" | "name" | "kind" | "roles" | "exp"> & { email?: unknown };
  const email = typeof rawEmail === "string" && isEmailAddress(rawEmail.trim()) ? rawEmail.trim() : undefined;
  return { ...rest, sub, name, kind, roles, ...(email ? { email } : {}), exp: exp! };
}
