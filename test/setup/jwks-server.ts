/// <reference types="node" />
/**
 * A stand-in for an integrator's identity provider: a real HTTP server that publishes JSON Web
 * Key Sets, for the tests of RS256/ES256 tokens (`JWKS_URL`). Started by Vitest's globalSetup
 * for the workers project (port from vitest.config.ts, which hands the Worker its URL as the
 * `TEST_JWKS_URL` binding) and by the Node tests themselves.
 *
 * Any number of independent key sets, by name, each made on first use with one RSA (RS256) and
 * one EC P-256 (ES256) key pair:
 * - `GET  /sets/:name/jwks.json`: the public keys (what `JWKS_URL` points at); counted.
 * - `GET  /sets/:name/private`: the current private keys as JWKs with their `kid`, `alg` and the
 *   public key as PEM. Test-only: tests sign tokens with them (and forge some).
 * - `POST /sets/:name/rotate`: new key pairs with new `kid`s; the old ones are no longer
 *   published (`?keep=1`: still published, as a provider does during a rollover).
 * - `POST /sets/:name/fail?status=500`: the set answers with that status until `?status=` (empty).
 * - `GET  /sets/:name/stats`: `{ fetches }`, how often the set was fetched.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import { listen, onConfiguredPort } from "./listen";

type Alg = "RS256" | "ES256";

interface Pair {
  kid: string;
  alg: Alg;
  publicJwk: JsonWebKey;
  privateJwk: JsonWebKey;
  publicPem: string;
}

interface KeySet {
  generation: number;
  current: Pair[];
  published: Pair[];
  fetches: number;
  failWith: number | null;
}

function pair(name: string, alg: Alg, generation: number): Pair {
  const kid = `${name}-${alg === "RS256" ? "rsa" : "ec"}-${generation}`;
  const { publicKey, privateKey } =
    alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = (key: KeyObject) => key.export({ format: "jwk" });
  return {
    kid,
    alg,
    publicJwk: { ...jwk(publicKey), kid, alg, use: "sig" },
    privateJwk: { ...jwk(privateKey), kid, alg },
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

function generate(name: string, generation: number): Pair[] {
  return [pair(name, "RS256", generation), pair(name, "ES256", generation)];
}

export interface JwksServer {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** The `JWKS_URL` of a named set. */
  setUrl(name: string): string;
  close(): Promise<void>;
}

export async function startJwksServer(port = 0): Promise<JwksServer> {
  const sets = new Map<string, KeySet>();
  const setOf = (name: string) => {
    let set = sets.get(name);
    if (!set) {
      const current = generate(name, 1);
      set = { generation: 1, current, published: current, fetches: 0, failWith: null };
      sets.set(name, set);
    }
    return set;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/sets\/([A-Za-z0-9_-]{1,100})\/(jwks\.json|private|rotate|fail|stats)$/.exec(url.pathname);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (!match) return send(404, { error: "no such route" });
    const [, name, action] = match as unknown as [string, string, string];
    const set = setOf(name);
    const post = req.method === "POST";
    switch (action) {
      case "jwks.json":
        set.fetches++;
        if (set.failWith !== null) return send(set.failWith, { error: "failing on purpose" });
        return send(200, { keys: set.published.map((p) => p.publicJwk) });
      case "private":
        return send(200, { keys: set.current.map(({ kid, alg, privateJwk, publicPem }) => ({ kid, alg, jwk: privateJwk, publicPem })) });
      case "stats":
        return send(200, { fetches: set.fetches });
      case "rotate": {
        if (!post) return send(405, { error: "POST" });
        set.generation++;
        const next = generate(name, set.generation);
        set.published = url.searchParams.get("keep") === "1" ? [...next, ...set.published] : next;
        set.current = next;
        return send(200, { kids: next.map((p) => p.kid) });
      }
      case "fail": {
        if (!post) return send(405, { error: "POST" });
        const status = Number(url.searchParams.get("status"));
        set.failWith = status >= 100 && status <= 599 ? status : null;
        return send(200, { failWith: set.failWith });
      }
    }
  });
  const listening = await listen(server, port);
  return { ...listening, setUrl: (name) => `${listening.url}/sets/${name}/jwks.json` };
}

/** Vitest globalSetup: the port comes from vitest.config.ts. */
export default onConfiguredPort("TEST_JWKS_PORT", startJwksServer);
