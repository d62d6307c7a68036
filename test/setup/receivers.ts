/// <reference types="node" />
/**
 * Stand-ins for the services the notification channels talk to: a Web Push service and the
 * Postmark and Resend APIs, in one real HTTP server. Started by Vitest's globalSetup for the
 * workers project on TEST_RECEIVER_PORT; vitest.config.ts routes the Worker's https requests for
 * the test hostnames here (miniflare's `outboundService`), naming the original host in
 * `x-forwarded-host`, and hands the Worker `TEST_RECEIVER_URL` for the control routes.
 *
 * The push service does what a real one does before it accepts a push: it checks the VAPID
 * JWT (ES256 over the key in `Authorization: vapid t=…, k=…`, `aud` = the endpoint's origin,
 * `exp` in the future and within 24 h, a mailto:/https: `sub`; the key must be the one the
 * subscription was made with), then decrypts the aes128gcm body with http_ece and the
 * subscription's private key, which the test made as a browser would.
 *
 * - `POST /control/push/:id` `{ privateKey, auth, applicationServerKey, script? }`: a
 *   subscription (endpoint `https://push.test/s/:id`); `script` lists the statuses to answer in
 *   turn before the default 201.
 * - `GET /control/push/:id` → `{ received: [{ status, vapid, payload, error, headers }] }`.
 * - `POST /control/mail/:to` `{ script }`: statuses for the email APIs to answer for `to`.
 * - `GET /control/mail/:to` → `{ received: [{ host, path, headers, body, status, replayed }] }`.
 *   Resend's idempotency is kept as Resend does: a repeated `Idempotency-Key` after a success gets
 *   the first answer back (`replayed: true`) and sends nothing.
 */
import { createECDH, createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
// @ts-expect-error: http_ece ships no types
import ece from "http_ece";
import { listen, onConfiguredPort } from "./listen";

export const PUSH_HOST = "push.test";
export const MAIL_HOSTS = ["api.postmarkapp.com", "api.resend.com"];
/** The hostnames vitest.config.ts sends here instead of the internet. */
export const TEST_HOSTS = [PUSH_HOST, ...MAIL_HOSTS];

interface PushSubscriber {
  privateKey: string;
  auth: string;
  applicationServerKey: string;
  script: number[];
  received: unknown[];
}

interface Mailbox {
  script: number[];
  received: unknown[];
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** RFC 8292: what is wrong with the VAPID authorization, or null when it is sound. */
function checkVapid(header: string | undefined, audience: string, expectedKey: string): { error: string | null; claims?: unknown } {
  const match = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? "");
  if (!match) return { error: `no vapid authorization: ${header}` };
  const [, jwt, k] = match as unknown as [string, string, string];
  if (k !== expectedKey) return { error: "k is not the key the subscription was made with" };
  const point = Buffer.from(k, "base64url");
  if (point.length !== 65 || point[0] !== 4) return { error: "k is not an uncompressed P-256 point" };
  const key = createPublicKey({
    key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") },
    format: "jwk",
  });
  const [h, p, s] = jwt.split(".") as [string, string, string];
  const head = JSON.parse(Buffer.from(h, "base64url").toString());
  if (head.alg !== "ES256") return { error: `alg is ${head.alg}` };
  if (!verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"))) {
    return { error: "signature does not verify" };
  }
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud !== audience) return { error: `aud is ${claims.aud}, not ${audience}`, claims };
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) return { error: `exp ${claims.exp} is not within the next 24 h`, claims };
  if (!/^(mailto:|https:)/.test(claims.sub ?? "")) return { error: `sub is ${claims.sub}`, claims };
  return { error: null, claims };
}

export async function startReceivers(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const subscribers = new Map<string, PushSubscriber>();
  const mailboxes = new Map<string, Mailbox>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const mailboxOf = (to: string) => {
    let box = mailboxes.get(to);
    if (!box) mailboxes.set(to, (box = { script: [], received: [] }));
    return box;
  };

  async function push(req: IncomingMessage, res: ServerResponse, host: string, path: string) {
    const id = /^\/s\/([A-Za-z0-9_-]+)$/.exec(path)?.[1];
    const sub = id === undefined ? undefined : subscribers.get(id);
    const body = await readBody(req);
    if (!sub || req.method !== "POST") return json(res, 404, { error: "no such subscription" });
    const record: Record<string, unknown> = {
      headers: { ttl: req.headers.ttl, topic: req.headers.topic, urgency: req.headers.urgency, "content-encoding": req.headers["content-encoding"] },
      bytes: body.length,
    };
    sub.received.push(record);
    const vapid = checkVapid(req.headers.authorization, `https://${host}`, sub.applicationServerKey);
    record.vapid = vapid;
    if (vapid.error) return json(res, (record.status = 403), { error: vapid.error });
    if (req.headers["content-encoding"] !== "aes128gcm") return json(res, (record.status = 400), { error: "not aes128gcm" });
    try {
      const ecdh = createECDH("prime256v1");
      ecdh.setPrivateKey(Buffer.from(sub.privateKey, "base64url"));
      record.payload = ece.decrypt(body, { version: "aes128gcm", privateKey: ecdh, authSecret: sub.auth }).toString("utf8");
    } catch (err) {
      record.error = String(err);
      return json(res, (record.status = 400), { error: "cannot decrypt" });
    }
    const status = sub.script.shift() ?? 201;
    record.status = status;
    res.writeHead(status).end();
  }

  async function mail(req: IncomingMessage, res: ServerResponse, host: string, path: string) {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString());
    } catch {
      return json(res, 400, { message: "body is not JSON" });
    }
    const postmark = host === "api.postmarkapp.com";
    const to = String(postmark ? body.To : (body.to as string[] | undefined)?.[0]);
    const box = mailboxOf(to);
    const key = req.headers["idempotency-key"] as string | undefined;
    const record: Record<string, unknown> = { host, path, headers: req.headers, body, replayed: false };
    box.received.push(record);
    if (postmark ? path !== "/email" : path !== "/emails") return json(res, (record.status = 404), { message: "no such route" });
    const token = postmark ? req.headers["x-postmark-server-token"] : req.headers.authorization;
    if (!token || (!postmark && !/^Bearer \S+$/.test(String(token)))) {
      return json(res, (record.status = 401), postmark ? { ErrorCode: 10, Message: "Bad or missing Server API token." } : { name: "missing_api_key" });
    }
    if (!postmark && key && idempotent.has(key)) {
      const first = idempotent.get(key)!;
      record.replayed = true;
      return json(res, (record.status = first.status), first.body);
    }
    const status = box.script.shift() ?? 200;
    record.status = status;
    const answer =
      status === 200
        ? postmark
          ? { To: to, SubmittedAt: new Date().toISOString(), MessageID: crypto.randomUUID(), ErrorCode: 0, Message: "OK" }
          : { id: crypto.randomUUID() }
        : postmark
          ? { ErrorCode: status === 422 ? 300 : 0, Message: `failing with ${status} on purpose` }
          : { name: status === 429 ? "rate_limit_exceeded" : "application_error", message: `failing with ${status} on purpose` };
    if (!postmark && key && status === 200) idempotent.set(key, { status, body: answer });
    json(res, status, answer);
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string) {
    const match = /^\/control\/(push|mail)\/([^/]+)$/.exec(path);
    if (!match) return json(res, 404, { error: "no such route" });
    const [, kind, rawName] = match as unknown as [string, string, string];
    const name = decodeURIComponent(rawName);
    if (req.method === "POST") {
      const body = JSON.parse((await readBody(req)).toString() || "{}");
      if (kind === "push") subscribers.set(name, { ...body, script: body.script ?? [], received: [] });
      else mailboxOf(name).script = body.script ?? [];
      return json(res, 200, { ok: true });
    }
    const received = kind === "push" ? (subscribers.get(name)?.received ?? []) : (mailboxes.get(name)?.received ?? []);
    return json(res, 200, { received });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const host = req.headers["x-forwarded-host"] as string | undefined;
    const handle =
      host === undefined
        ? control(req, res, url.pathname)
        : host === PUSH_HOST
          ? push(req, res, host, url.pathname)
          : MAIL_HOSTS.includes(host)
            ? mail(req, res, host, url.pathname)
            : Promise.resolve(json(res, 502, { error: `not a test host: ${host}` }));
    handle.catch((err) => json(res, 500, { error: String(err) }));
  });
  return listen(server, port);
}

/** Vitest globalSetup: the port comes from vitest.config.ts. */
export default onConfiguredPort("TEST_RECEIVER_PORT", startReceivers);
