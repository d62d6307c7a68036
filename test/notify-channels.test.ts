/**
 * The notification channels: preferences, email (outbox, Postmark, Resend, Cloudflare's
 * binding), one-click unsubscribe, Web Push. The push service and the email APIs are real
 * local servers (test/setup/receivers.ts) that the Worker reaches at their usual https
 * addresses through vitest.config.ts's `outboundService`.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import type { Bindings } from "../src/env";
import { base64url, fromBase64url } from "../src/lib/base64";
import { signToken } from "../src/lib/jwt";
import { buildMime, CloudflareEmailProvider } from "../src/notify/email/cloudflare";
import { emailProviderFor, sendEmail, type OutgoingEmail } from "../src/notify/email/index";
import { unsubscribeHeaders } from "../src/notify/email/unsubscribe";
import { PermanentDelivery, RetryableDelivery } from "../src/notify/errors";
import { getPreferences, getPreferencesFor, setEmail, updatePreferences, type Preferences } from "../src/notify/preferences";
import { sendPush } from "../src/notify/push/send";
import { generateVapidPair } from "../src/notify/push/vapid";
import { removeUserSubscriptions, subscriptionsOf } from "../src/notify/push/subscriptions";
import { BASE, api, call, expectError, tokenFor, uniqueId } from "./helpers";
import { outbox } from "./notify-helpers";

const DEFAULTS: Preferences = { inApp: true, email: "instant", push: true, mutedRooms: [] };
const RECEIVER = env.TEST_RECEIVER_URL!;

async function control<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${RECEIVER}${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

const putPreferences = (user: string, json: unknown) => call("PUT", "/api/notifications/preferences", user, json);

async function expectPreferences(user: string, expected: Preferences) {
  const res = await call("GET", "/api/notifications/preferences", user);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(expected);
}

// ---- Preferences ----------------------------------------------------------------------------

describe("notification preferences", () => {
  it("are the defaults for a user who never chose", async () => {
    await expectPreferences(uniqueId("user"), DEFAULTS);
    expect(await getPreferences(env.DB, uniqueId("user"))).toEqual(DEFAULTS);
  });

  it("change only the fields a PUT names, and the PUT answers with all of them", async () => {
    const user = uniqueId("user");
    let res = await putPreferences(user, { email: "daily" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...DEFAULTS, email: "daily" });
    res = await putPreferences(user, { push: false, mutedRooms: ["room-a", "room_b"] });
    expect(await res.json()).toEqual({ inApp: true, email: "daily", push: false, mutedRooms: ["room-a", "room_b"] });
    await expectPreferences(user, { inApp: true, email: "daily", push: false, mutedRooms: ["room-a", "room_b"] });
    res = await putPreferences(user, {});
    expect(await res.json()).toEqual({ inApp: true, email: "daily", push: false, mutedRooms: ["room-a", "room_b"] });
  });

  it("take the whole object at once, and an empty mutedRooms unmutes everything", async () => {
    const user = uniqueId("user");
    const all: Preferences = { inApp: false, email: "off", push: false, mutedRooms: ["x"] };
    expect(await (await putPreferences(user, all)).json()).toEqual(all);
    expect(await (await putPreferences(user, { mutedRooms: [] })).json()).toEqual({ ...all, mutedRooms: [] });
  });

  it("refuse bad values with 400 and keep what was stored", async () => {
    const user = uniqueId("user");
    await putPreferences(user, { email: "daily" });
    const bad: unknown[] = [
      { inApp: "yes" },
      { email: "weekly" },
      { email: null },
      { push: 1 },
      { mutedRooms: "room-a" },
      { mutedRooms: ["bad id!"] },
      { mutedRooms: [""] },
      { mutedRooms: [42] },
      { mutedRooms: ["r".repeat(65)] },
      { sms: true },
      [],
      "instant",
    ];
    for (const body of bad) await expectError(await putPreferences(user, body), 400, "bad_request");
    const notJson = await api("/api/notifications/preferences", {
      method: "PUT",
      token: await tokenFor(user),
      headers: { "content-type": "application/json" },
      body: "{email:",
    });
    await expectError(notJson, 400, "bad_request");
    await expectPreferences(user, { ...DEFAULTS, email: "daily" });
  });

  it("take room ids of up to 64 characters and at most 500 of them", async () => {
    const user = uniqueId("user");
    const longest = "r".repeat(64);
    expect((await putPreferences(user, { mutedRooms: [longest] })).status).toBe(200);
    const rooms = Array.from({ length: 500 }, (_, i) => `room-${i}`);
    const res = await putPreferences(user, { mutedRooms: rooms });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Preferences).mutedRooms).toHaveLength(500);
    await expectError(await putPreferences(user, { mutedRooms: [...rooms, "room-500"] }), 400, "bad_request");
    expect((await getPreferences(env.DB, user)).mutedRooms).toEqual(rooms);
  });

  it("store a muted room once however often it is listed", async () => {
    const user = uniqueId("user");
    const res = await putPreferences(user, { mutedRooms: ["a", "b", "a"] });
    expect(((await res.json()) as Preferences).mutedRooms).toEqual(["a", "b"]);
  });

  it("need sign-in", async () => {
    await expectError(await call("GET", "/api/notifications/preferences", null), 401, "unauthorized");
    await expectError(await call("PUT", "/api/notifications/preferences", null, { email: "off" }), 401, "unauthorized");
  });

  it("are read for thousands of users in one call, with defaults for those without a row", async () => {
    const ids = Array.from({ length: 2500 }, () => uniqueId("many"));
    await updatePreferences(env.DB, ids[3]!, { push: false });
    await setEmail(env.DB, ids[2499]!, "daily");
    const prefs = await getPreferencesFor(env.DB, [...ids, ids[3]!]);
    expect(prefs.size).toBe(2500);
    expect(prefs.get(ids[0]!)).toEqual(DEFAULTS);
    expect(prefs.get(ids[3]!)).toEqual({ ...DEFAULTS, push: false });
    expect(prefs.get(ids[2499]!)).toEqual({ ...DEFAULTS, email: "daily" });
    expect((await getPreferencesFor(env.DB, [])).size).toBe(0);
  });
});

// ---- Web Push ---------------------------------------------------------------------------------

interface Received {
  status: number;
  vapid: { error: string | null; claims: { aud: string; sub: string; exp: number } };
  payload?: string;
  error?: string;
  headers: Record<string, string>;
}

async function vapidPublicKey(user: string): Promise<string> {
  const res = await call("GET", "/api/push/vapid-public-key", user);
  expect(res.status).toBe(200);
  return ((await res.json()) as { publicKey: string }).publicKey;
}

/**
 * What a browser does on `pushManager.subscribe`: a new P-256 key pair and a 16-byte auth secret,
 * here also handed to the stand-in push service so that it can decrypt what it receives.
 */
async function browserKeys() {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const p256dh = base64url((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const privateKey = ((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey).d!;
  return { p256dh, privateKey, auth: base64url(crypto.getRandomValues(new Uint8Array(16))) };
}

async function browserSubscription(user: string, script: number[] = [], expirationTime: number | null = null) {
  const id = uniqueId("sub");
  const { p256dh, privateKey, auth } = await browserKeys();
  await control(`/control/push/${id}`, { privateKey, auth, applicationServerKey: await vapidPublicKey(user), script });
  return { id, json: { endpoint: `https://push.test/s/${id}`, expirationTime, keys: { p256dh, auth } } };
}

async function subscribe(user: string, script: number[] = [], expirationTime: number | null = null) {
  const sub = await browserSubscription(user, script, expirationTime);
  const res = await call("POST", "/api/push/subscriptions", user, sub.json);
  expect(res.status).toBe(201);
  return sub;
}

const received = async (id: string) => (await control<{ received: Received[] }>(`/control/push/${id}`)).received;

describe("Web Push subscriptions", () => {
  it("get a stable VAPID public key: an uncompressed P-256 point, base64url", async () => {
    const key = await vapidPublicKey("alice");
    expect(key).toMatch(/^[A-Za-z0-9_-]+$/);
    const bytes = fromBase64url(key)!;
    expect(bytes.byteLength).toBe(65);
    expect(bytes[0]).toBe(4);
    expect(await vapidPublicKey("bob")).toBe(key);
    // Kept in D1, so a restarted server (a new isolate) signs with the same pair.
    const stored = await env.DB.prepare("SELECT value FROM dev_keys WHERE name = 'vapid'").first<{ value: string }>();
    expect(JSON.parse(stored!.value).publicKey).toBe(key);
    await expectError(await call("GET", "/api/push/vapid-public-key", null), 401, "unauthorized");
  });

  it("are stored once per endpoint, however often the browser subscribes", async () => {
    const user = uniqueId("user");
    const sub = await browserSubscription(user);
    for (let i = 0; i < 2; i++) expect((await call("POST", "/api/push/subscriptions", user, sub.json)).status).toBe(201);
    const rows = await subscriptionsOf(env.DB, user);
    expect(rows.map((r) => r.endpoint)).toEqual([sub.json.endpoint]);
  });

  it("refuse malformed subscriptions with 400", async () => {
    const user = uniqueId("user");
    const { json } = await browserSubscription(user);
    const offCurve = base64url(new Uint8Array([4, ...new Array(64).fill(0)]));
    const bad: unknown[] = [
      {},
      { ...json, endpoint: "http://push.test/s/x" },
      { ...json, endpoint: "not a url" },
      { ...json, endpoint: "https://user:pass@push.test/s/x" },
      { ...json, endpoint: `https://push.test/${"x".repeat(2048)}` },
      { ...json, keys: undefined },
      { ...json, keys: { auth: json.keys.auth } },
      { ...json, keys: { ...json.keys, p256dh: json.keys.p256dh.slice(0, -4) } },
      { ...json, keys: { ...json.keys, p256dh: offCurve } },
      { ...json, keys: { ...json.keys, p256dh: "!!!" } },
      { ...json, keys: { ...json.keys, auth: base64url(new Uint8Array(15)) } },
      { ...json, keys: { ...json.keys, auth: base64url(new Uint8Array(17)) } },
      { ...json, expirationTime: "soon" },
      { ...json, expirationTime: -1 },
    ];
    for (const body of bad) await expectError(await call("POST", "/api/push/subscriptions", user, body), 400, "bad_request");
    expect(await subscriptionsOf(env.DB, user)).toEqual([]);
    await expectError(await call("POST", "/api/push/subscriptions", null, json), 401, "unauthorized");
  });

  it("are kept to the newest 20 per user", async () => {
    const user = uniqueId("user");
    const subs = [];
    for (let i = 0; i < 21; i++) {
      subs.push(await subscribe(user));
      await new Promise((r) => setTimeout(r, 2));
    }
    const kept = (await subscriptionsOf(env.DB, user)).map((r) => r.endpoint).sort();
    expect(kept).toEqual(subs.slice(1).map((s) => s.json.endpoint).sort());
  });

  it("move to whoever subscribes an endpoint another user held", async () => {
    const [alice, bob] = [uniqueId("alice"), uniqueId("bob")];
    const sub = await subscribe(alice);
    expect((await call("POST", "/api/push/subscriptions", bob, sub.json)).status).toBe(201);
    expect(await subscriptionsOf(env.DB, alice)).toEqual([]);
    expect((await subscriptionsOf(env.DB, bob)).map((r) => r.endpoint)).toEqual([sub.json.endpoint]);
  });

  it("are removed by DELETE only for their owner", async () => {
    const [alice, bob] = [uniqueId("alice"), uniqueId("bob")];
    const sub = await subscribe(alice);
    expect((await call("DELETE", "/api/push/subscriptions", bob, { endpoint: sub.json.endpoint })).status).toBe(204);
    expect(await subscriptionsOf(env.DB, alice)).toHaveLength(1);
    await expectError(await call("DELETE", "/api/push/subscriptions", alice, { endpoint: "ftp://x" }), 400, "bad_request");
    await expectError(await call("DELETE", "/api/push/subscriptions", alice, {}), 400, "bad_request");
    expect((await call("DELETE", "/api/push/subscriptions", alice, { endpoint: sub.json.endpoint })).status).toBe(204);
    expect(await subscriptionsOf(env.DB, alice)).toEqual([]);
    expect((await call("DELETE", "/api/push/subscriptions", alice, { endpoint: sub.json.endpoint })).status).toBe(204);
  });

  it("are all removed by removeUserSubscriptions, and nobody else's", async () => {
    const [alice, bob] = [uniqueId("alice"), uniqueId("bob")];
    await subscribe(alice);
    await subscribe(alice);
    await subscribe(bob);
    expect(await removeUserSubscriptions(env.DB, alice)).toBe(2);
    expect(await subscriptionsOf(env.DB, alice)).toEqual([]);
    expect(await subscriptionsOf(env.DB, bob)).toHaveLength(1);
  });
});

describe("sendPush", () => {
  const payloadFor = (roomId = "room-1") => ({ id: uniqueId("n"), title: "Alice", body: "hello there", roomId, url: `/rooms/${roomId}` });

  it("reaches every device, VAPID-signed for the push service and decryptable only with the browser's key", async () => {
    const user = uniqueId("user");
    const [phone, laptop] = [await subscribe(user), await subscribe(user)];
    const payload = payloadFor();
    expect(await sendPush(env, user, payload)).toEqual({ delivered: 2, removed: 0 });
    for (const device of [phone, laptop]) {
      const got = await received(device.id);
      expect(got).toHaveLength(1);
      expect(got[0]!.vapid.error).toBeNull();
      expect(got[0]!.vapid.claims.aud).toBe("https://push.test");
      expect(got[0]!.vapid.claims.sub).toMatch(/^(mailto:|https:)/);
      expect(got[0]!.headers["content-encoding"]).toBe("aes128gcm");
      expect(Number(got[0]!.headers.ttl)).toBeGreaterThan(0);
      expect(got[0]!.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
      expect(got[0]!.status).toBe(201);
      expect(JSON.parse(got[0]!.payload!)).toEqual(payload);
    }
  });

  it("sends nothing and fails nothing for a user without subscriptions", async () => {
    expect(await sendPush(env, uniqueId("user"), payloadFor())).toEqual({ delivered: 0, removed: 0 });
  });

  it("removes a subscription whose push service answers 410 or 404", async () => {
    const user = uniqueId("user");
    const gone = await subscribe(user, [410]);
    const unknown = await subscribe(user, [404]);
    const alive = await subscribe(user);
    expect(await sendPush(env, user, payloadFor())).toEqual({ delivered: 1, removed: 2 });
    expect((await subscriptionsOf(env.DB, user)).map((r) => r.endpoint)).toEqual([alive.json.endpoint]);
    expect(await received(gone.id)).toHaveLength(1);
    expect(await received(unknown.id)).toHaveLength(1);
  });

  it("removes an expired subscription without sending to it", async () => {
    const user = uniqueId("user");
    const expired = await subscribe(user, [], Date.now() - 1000);
    expect(await sendPush(env, user, payloadFor())).toEqual({ delivered: 0, removed: 1 });
    expect(await received(expired.id)).toHaveLength(0);
    expect(await subscriptionsOf(env.DB, user)).toEqual([]);
  });

  it("throws RetryableDelivery when a push service answers 500, and the retry reaches only the devices not yet reached", async () => {
    const user = uniqueId("user");
    const fine = await subscribe(user);
    const failing = await subscribe(user, [500]);
    const payload = payloadFor();
    await expect(sendPush(env, user, payload)).rejects.toBeInstanceOf(RetryableDelivery);
    expect(await received(fine.id)).toHaveLength(1);
    expect((await received(failing.id)).map((r) => r.status)).toEqual([500]);
    expect(await subscriptionsOf(env.DB, user)).toHaveLength(2);
    // The caller retries the whole push.
    expect(await sendPush(env, user, payload)).toEqual({ delivered: 1, removed: 0 });
    expect(await received(fine.id)).toHaveLength(1);
    expect((await received(failing.id)).map((r) => r.status)).toEqual([500, 201]);
    // Another push goes to both again.
    expect(await sendPush(env, user, payloadFor())).toEqual({ delivered: 2, removed: 0 });
  });

  it("neither retries nor removes a subscription whose push service refuses the VAPID signature", async () => {
    const user = uniqueId("user");
    const device = await subscribe(user);
    // The browser subscribed with some other server's key: the push service answers 403.
    await control(`/control/push/${device.id}`, { ...(await browserKeys()), applicationServerKey: (await generateVapidPair()).publicKey });
    expect(await sendPush(env, user, payloadFor())).toEqual({ delivered: 0, removed: 0 });
    const got = await received(device.id);
    expect(got.map((r) => r.status)).toEqual([403]);
    expect(got[0]!.vapid.error).toMatch(/not the key/);
    expect(await subscriptionsOf(env.DB, user)).toHaveLength(1);
  });

  it("treats 429 as retryable too", async () => {
    const user = uniqueId("user");
    await subscribe(user, [429]);
    await expect(sendPush(env, user, payloadFor())).rejects.toBeInstanceOf(RetryableDelivery);
  });

  it("cuts a long body to fit one encrypted record", async () => {
    const user = uniqueId("user");
    const device = await subscribe(user);
    const payload = { ...payloadFor(), body: "é".repeat(5000) };
    expect(await sendPush(env, user, payload)).toEqual({ delivered: 1, removed: 0 });
    const got = JSON.parse((await received(device.id))[0]!.payload!) as { body: string };
    expect(Array.from(got.body)).toHaveLength(1000);
    expect(got.body.endsWith("…")).toBe(true);
  });

  it("fails permanently where no VAPID keys are configured, and the key route says so with 503", async () => {
    const secret = "a-configured-secret-for-push-tests-0123456789";
    const deployed = { ...env, DEV_MODE: "false", JWT_SECRET: secret, VAPID_SUBJECT: "mailto:ops@example.com" } as Bindings;
    await expect(sendPush(deployed, uniqueId("user"), payloadFor())).rejects.toBeInstanceOf(PermanentDelivery);
    const token = await signToken({ sub: "alice", name: "Alice", kind: "member", exp: Math.floor(Date.now() / 1000) + 60 }, secret);
    const res = await app.request("/api/push/vapid-public-key", { headers: { authorization: `Bearer ${token}` } }, deployed);
    await expectError(res, 503, "unavailable");
  });

  it("sign with the configured VAPID keys when they are set", async () => {
    const keys = await generateVapidPair();
    const configured = { ...env, VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: "https://chat.example.com" } as Bindings;
    const res = await app.request("/api/push/vapid-public-key", { headers: { authorization: `Bearer ${await tokenFor("alice")}` } }, configured);
    expect(await res.json()).toEqual({ publicKey: keys.publicKey });
    const broken = { ...configured, VAPID_PRIVATE_KEY: "too-short" } as Bindings;
    await expect(sendPush(broken, uniqueId("user"), payloadFor())).rejects.toBeInstanceOf(PermanentDelivery);
  });
});

// ---- Email ----------------------------------------------------------------------------------------

const mailTo = () => `${uniqueId("to")}@example.com`;

function email(to = mailTo(), extra: Partial<OutgoingEmail> = {}): OutgoingEmail & { userId: string } {
  return { id: uniqueId("mail"), userId: uniqueId("user"), to, subject: "New messages in Team", text: "Alice: hello", headers: {}, ...extra };
}


const withProvider = (settings: Record<string, string | undefined>) => ({ ...env, ...settings }) as Bindings;
const postmark = withProvider({ EMAIL_PROVIDER: "postmark", EMAIL_API_TOKEN: "POSTMARK_API_TEST", EMAIL_FROM: "Team Chat <chat@example.com>" });
const resend = withProvider({ EMAIL_PROVIDER: "resend", EMAIL_API_TOKEN: "re_test_token", EMAIL_FROM: "chat@example.com" });

interface MailReceived {
  host: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  status: number;
  replayed: boolean;
}
const mailReceived = async (to: string) => (await control<{ received: MailReceived[] }>(`/control/mail/${encodeURIComponent(to)}`)).received;

describe("email", () => {
  it("goes to the outbox by default, once per id, with the one-click unsubscribe headers", async () => {
    const mail = email();
    await sendEmail(env, mail);
    await sendEmail(env, { ...mail, subject: "a retry writes nothing new" });
    const emails = await outbox(mail.to);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ id: mail.id, to: mail.to, subject: mail.subject, text: mail.text });
    expect(emails[0]!.headers["List-Unsubscribe"]).toMatch(/^<http:\/\/localhost:8787\/api\/notifications\/unsubscribe\?token=[A-Za-z0-9_.-]+>$/);
    expect(emails[0]!.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  it("lists the outbox newest first", async () => {
    const to = mailTo();
    const first = email(to);
    const second = email(to);
    await sendEmail(env, first);
    await new Promise((r) => setTimeout(r, 5));
    await sendEmail(env, second);
    expect((await outbox(to)).map((e) => e.id)).toEqual([second.id, first.id]);
  });

  it("has no outbox route where dev mode is off", async () => {
    await expectError(await app.request("/api/dev/outbox", {}, { ...env, DEV_MODE: "false" }), 404, "not_found");
  });

  it("links to PUBLIC_URL when it is set", async () => {
    const mail = email();
    await sendEmail(withProvider({ PUBLIC_URL: "https://chat.example.com/" }), mail);
    expect((await outbox(mail.to))[0]!.headers["List-Unsubscribe"]).toMatch(/^<https:\/\/chat\.example\.com\/api\/notifications\/unsubscribe\?token=/);
  });

  it("refuses header injection and a recipient that is not one address, permanently", async () => {
    await expect(sendEmail(env, email(undefined, { subject: "hi\r\nBcc: everyone@example.com" }))).rejects.toBeInstanceOf(PermanentDelivery);
    await expect(sendEmail(env, email(undefined, { headers: { "X-Note": "a\nBcc: x@example.com" } }))).rejects.toBeInstanceOf(PermanentDelivery);
    await expect(sendEmail(env, email("a@example.com, b@example.com"))).rejects.toBeInstanceOf(PermanentDelivery);
  });

  it("through Postmark: a 500 is retryable, and the caller's retry delivers it once", async () => {
    const mail = email();
    await control(`/control/mail/${encodeURIComponent(mail.to)}`, { script: [500] });
    await expect(sendEmail(postmark, mail)).rejects.toBeInstanceOf(RetryableDelivery);
    await sendEmail(postmark, mail);
    const got = await mailReceived(mail.to);
    expect(got.map((r) => r.status)).toEqual([500, 200]);
    const delivered = got.filter((r) => r.status === 200);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.headers["x-postmark-server-token"]).toBe("POSTMARK_API_TEST");
    expect(delivered[0]!.body).toMatchObject({ From: "Team Chat <chat@example.com>", To: mail.to, Subject: mail.subject, TextBody: mail.text });
    const headers = delivered[0]!.body.Headers as { Name: string; Value: string }[];
    expect(headers.map((h) => h.Name)).toEqual(["List-Unsubscribe", "List-Unsubscribe-Post"]);
  });

  it("through Postmark: a 422 is permanent", async () => {
    const mail = email();
    await control(`/control/mail/${encodeURIComponent(mail.to)}`, { script: [422] });
    await expect(sendEmail(postmark, mail)).rejects.toBeInstanceOf(PermanentDelivery);
  });

  it("through Resend: the id is the Idempotency-Key, so a repeat after a success sends nothing", async () => {
    const mail = email(undefined, { html: "<p>Alice: hello</p>" });
    await control(`/control/mail/${encodeURIComponent(mail.to)}`, { script: [429] });
    await expect(sendEmail(resend, mail)).rejects.toBeInstanceOf(RetryableDelivery);
    await sendEmail(resend, mail);
    await sendEmail(resend, mail);
    const got = await mailReceived(mail.to);
    expect(got.map((r) => [r.status, r.replayed])).toEqual([
      [429, false],
      [200, false],
      [200, true],
    ]);
    expect(got.every((r) => r.headers["idempotency-key"] === mail.id && r.headers.authorization === "Bearer re_test_token")).toBe(true);
    expect(got[1]!.body).toMatchObject({ from: "chat@example.com", to: [mail.to], subject: mail.subject, text: mail.text, html: mail.html });
    expect((got[1]!.body.headers as Record<string, string>)["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  it("fails permanently on settings that cannot work", async () => {
    const cases = [
      withProvider({ EMAIL_PROVIDER: "postmark", EMAIL_API_TOKEN: undefined, EMAIL_FROM: "chat@example.com" }),
      withProvider({ EMAIL_PROVIDER: "resend", EMAIL_API_TOKEN: "t", EMAIL_FROM: "" }),
      withProvider({ EMAIL_PROVIDER: "carrier-pigeon" }),
      withProvider({ EMAIL_PROVIDER: "cloudflare", EMAIL_FROM: "no address here" }),
      withProvider({ DEV_MODE: "false", JWT_SECRET: undefined }),
      withProvider({ DEV_MODE: "false", JWT_SECRET: "a-configured-secret-0123456789", PUBLIC_URL: "" }),
    ];
    for (const settings of cases) await expect(sendEmail(settings, email())).rejects.toBeInstanceOf(PermanentDelivery);
  });

  it("through Cloudflare's binding: MIME with CRLF lines, the unsubscribe headers and a Message-ID from the id", async () => {
    const mail = { ...email(), headers: { "List-Unsubscribe": "<https://chat.example.com/u?token=t>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" } };
    const raw = buildMime(mail, { from: "Team Chat <chat@example.com>", address: "chat@example.com" });
    expect(raw).toContain("\r\nList-Unsubscribe: <https://chat.example.com/u?token=t>\r\n");
    expect(raw).toContain("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    expect(raw).toContain(`Message-ID: <${mail.id}@example.com>`);
    expect(raw).not.toMatch(/[^\r]\n/);
    // The binding as `wrangler dev` and the tests simulate it accepts the message.
    await new CloudflareEmailProvider(env.EMAIL, { from: "Team Chat <chat@example.com>", address: "chat@example.com" }).send(mail);
    // The setting picks it (loaded on its first email): a misconfigured one would throw PermanentDelivery.
    await expect(emailProviderFor(withProvider({ EMAIL_PROVIDER: "cloudflare", EMAIL_FROM: "chat@example.com" })).send({ ...mail, id: uniqueId("mail") })).resolves.toBeUndefined();
  });
});

// ---- One-click unsubscribe -----------------------------------------------------------------------

async function linkFor(userId: string, settings: Bindings = env): Promise<string> {
  const header = (await unsubscribeHeaders(settings, BASE, userId))["List-Unsubscribe"]!;
  return /^<(.+)>$/.exec(header)![1]!;
}

const oneClick = (link: string, init: RequestInit = {}) =>
  api(link.slice(BASE.length), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "List-Unsubscribe=One-Click",
    ...init,
  });

describe("one-click unsubscribe", () => {
  it("turns email off without signing in, and nothing else", async () => {
    const user = uniqueId("user");
    await updatePreferences(env.DB, user, { inApp: false, mutedRooms: ["r1"] });
    const res = await oneClick(await linkFor(user));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ email: "off" });
    expect(await getPreferences(env.DB, user)).toEqual({ inApp: false, email: "off", push: true, mutedRooms: ["r1"] });
    expect((await oneClick(await linkFor(user))).status).toBe(200);
  });

  it("works with the link from an email's headers", async () => {
    const mail = email();
    await sendEmail(env, mail);
    const link = /^<(.+)>$/.exec((await outbox(mail.to))[0]!.headers["List-Unsubscribe"]!)![1]!;
    expect(new URL(link).origin).toBe("http://localhost:8787");
    const url = new URL(link);
    expect((await api(`${url.pathname}${url.search}`, { method: "POST", body: "List-Unsubscribe=One-Click" })).status).toBe(200);
    expect((await getPreferences(env.DB, mail.userId)).email).toBe("off");
  });

  it("answers a GET with a page whose button posts, and changes nothing", async () => {
    const user = uniqueId("user");
    await setEmail(env.DB, user, "daily");
    const link = await linkFor(user);
    const res = await api(link.slice(BASE.length));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\?token=[A-Za-z0-9_.-]+">/);
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect((await getPreferences(env.DB, user)).email).toBe("daily");
  });

  it("shows a page after the button's POST from a browser", async () => {
    const user = uniqueId("user");
    const res = await oneClick(await linkFor(user), { headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Unsubscribed");
    expect((await getPreferences(env.DB, user)).email).toBe("off");
  });

  it("refuses forged and altered links, by POST and by GET, and changes nothing", async () => {
    const [victim, attacker] = [uniqueId("victim"), uniqueId("attacker")];
    await setEmail(env.DB, victim, "instant");
    const own = new URL(await linkFor(attacker)).searchParams.get("token")!;
    const [ownPayload, ownSignature] = own.split(".") as [string, string];
    const victimPayload = new URL(await linkFor(victim)).searchParams.get("token")!.split(".")[0]!;
    const claim = (sub: string) => base64url(new TextEncoder().encode(JSON.stringify({ v: 1, sub, off: "email" })));
    const flipped = ownSignature.slice(0, 10) + (ownSignature[10] === "A" ? "B" : "A") + ownSignature.slice(11);
    const otherKey = new URL(await linkFor(victim, withProvider({ UNSUBSCRIBE_SECRET: "another-secret-entirely" }))).searchParams.get("token")!;
    const forbidden = [
      `${victimPayload}.${ownSignature}`, // someone else's claim under my signature
      `${claim(victim)}.${ownSignature}`,
      `${ownPayload}.${flipped}`, // an altered signature
      otherKey, // signed with a key this Worker does not use
    ];
    const malformed = ["", "abc", `${victimPayload}.`, `${victimPayload}.${ownSignature}.x`, `${victimPayload}.${ownSignature.slice(0, 20)}`, "x".repeat(600)];
    for (const token of forbidden) {
      await expectError(await oneClick(`${BASE}/api/notifications/unsubscribe?token=${token}`), 403, "forbidden");
      await expectError(await api(`/api/notifications/unsubscribe?token=${token}`), 403, "forbidden");
    }
    for (const token of malformed) {
      await expectError(await oneClick(`${BASE}/api/notifications/unsubscribe?token=${encodeURIComponent(token)}`), 400, "bad_request");
    }
    await expectError(await oneClick(`${BASE}/api/notifications/unsubscribe`), 400, "bad_request");
    expect((await getPreferences(env.DB, victim)).email).toBe("instant");
    expect((await getPreferences(env.DB, attacker)).email).toBe("instant");
  });

  it("signs with UNSUBSCRIBE_SECRET when it is set", async () => {
    const user = uniqueId("user");
    const own = withProvider({ UNSUBSCRIBE_SECRET: "an-unsubscribe-secret-0123456789" });
    const link = await linkFor(user, own);
    await expectError(await oneClick(link), 403, "forbidden");
    const res = await app.request(link.slice(BASE.length), { method: "POST", body: "List-Unsubscribe=One-Click" }, own);
    expect(res.status).toBe(200);
    expect((await getPreferences(env.DB, user)).email).toBe("off");
  });
});
