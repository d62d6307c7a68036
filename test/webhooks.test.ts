/**
 * Webhooks: the admin routes, and delivery from `publishEvent` to a receiver that verifies each
 * POST with `standardwebhooks` (test/setup/webhook-receiver.ts). The consumer is driven both by
 * real queue sends through the Worker and by hand-made batches (`createMessageBatch`), which
 * show what it acks and retries.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import worker from "../src/index";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { BACKOFF_MAX_S, backoffSeconds, classify } from "../src/webhooks/deliver";
import { publishEvent, type WebhookDelivery, type WebhookEvent, type WebhookEventType } from "../src/webhooks";
import { DELIVERY_RETENTION_DAYS, deliveryRow, MAX_WEBHOOKS, pruneDeliveries } from "../src/webhooks/store";
import { asAdmin, eventually, tokenWithRoles } from "./admin-helpers";
import { api, call, createGroup, expectError, flush, people, postAs, tokenFor, uniqueId } from "./helpers";
import { forgetWebhookTypes } from "../src/room/interest";
import type { PlannedAnswer, Received } from "./setup/webhook-receiver";

const RECEIVER = env.TEST_WEBHOOK_URL!;
/** The queue's name in the top-level (staging) config that the tests run. */
const QUEUE = "edge-chat-webhooks-staging";
const ALL_EVENTS: WebhookEventType[] = ["message.created", "message.updated", "message.deleted", "member.added", "member.removed"];

interface Created {
  id: string;
  url: string;
  events: WebhookEventType[];
  secret: string;
}

interface Listed {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
}

/** A receiver endpoint no other test uses, and its URL. */
function endpoint() {
  const name = uniqueId("hook");
  return { name, url: `${RECEIVER}/hooks/${name}` };
}

async function createWebhook(url: string, events: WebhookEventType[] = ALL_EVENTS): Promise<Created> {
  const res = await asAdmin("POST", "/api/admin/webhooks", { url, events });
  expect(res.status).toBe(201);
  return ((await res.json()) as { webhook: Created }).webhook;
}

async function listWebhooks(): Promise<Listed[]> {
  const res = await asAdmin("GET", "/api/admin/webhooks");
  expect(res.status).toBe(200);
  return ((await res.json()) as { webhooks: Listed[] }).webhooks;
}

/** Tells the receiver the secret to verify with, and what to answer before its 200s. */
async function plan(name: string, settings: { secret?: string; answers?: PlannedAnswer[] }) {
  const res = await fetch(`${RECEIVER}/control/${name}`, { method: "POST", body: JSON.stringify(settings) });
  expect(res.status).toBe(200);
}

async function received(name: string): Promise<Received[]> {
  const res = await fetch(`${RECEIVER}/control/${name}`);
  return ((await res.json()) as { received: Received[] }).received;
}

/** A webhook at a fresh receiver endpoint that verifies with its secret. */
async function subscribedEndpoint(events: WebhookEventType[] = ALL_EVENTS, answers: PlannedAnswer[] = []) {
  const { name, url } = endpoint();
  const webhook = await createWebhook(url, events);
  await plan(name, { secret: webhook.secret, answers });
  return { name, webhook };
}

function event(type: WebhookEventType = "message.created", data: unknown = { text: "hello" }): WebhookEvent {
  return { id: `evt_${uniqueId("room")}_1_${type}`, type, createdAt: new Date().toISOString(), data };
}

let messageSeq = 0;
/** A queue message as the queue would hand it over the `attempts`-th time. */
const queued = (body: WebhookDelivery, attempts = 1, id = `msg-${messageSeq++}`) => ({ id, timestamp: new Date(), attempts, body });

/**
 * Runs one batch through the Worker's queue handler and returns what it acked and retried, with
 * each retry's delay (which `getQueueResult` leaves out, so the messages' `retry` is watched).
 */
async function consume(messages: ReturnType<typeof queued>[], queue = QUEUE) {
  const batch = createMessageBatch<WebhookDelivery>(queue, messages);
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retryMessages: result.retryMessages.map((r) => ({ ...r, delaySeconds: delays.get(r.msgId) })) };
}

async function deleteAllWebhooks() {
  for (const w of await listWebhooks()) expect((await asAdmin("DELETE", `/api/admin/webhooks/${w.id}`)).status).toBe(204);
}

describe("who may manage webhooks", () => {
  it("answers 401 without a token", async () => {
    await expectError(await api("/api/admin/webhooks"), 401, "unauthorized");
    await expectError(await api("/api/admin/webhooks", { method: "POST", json: { url: "https://example.com/h", events: ["member.added"] } }), 401, "unauthorized");
    await expectError(await api("/api/admin/webhooks/wh_x", { method: "DELETE" }), 401, "unauthorized");
  });

  it("answers 403 to a member, staff or a visitor without the admin role", async () => {
    const member = await tokenFor(uniqueId("member"));
    const staff = await tokenWithRoles(uniqueId("staff"), ["staff"]);
    const visitor = await tokenWithRoles(uniqueId("visitor"), ["admin"], "visitor");
    for (const token of [member, staff, visitor]) {
      await expectError(await api("/api/admin/webhooks", { token }), 403, "forbidden");
      await expectError(
        await api("/api/admin/webhooks", { method: "POST", token, json: { url: "https://example.com/h", events: ["member.added"] } }),
        403,
        "forbidden",
      );
      await expectError(await api("/api/admin/webhooks/wh_x", { method: "DELETE", token }), 403, "forbidden");
    }
  });
});

describe("creating, listing and deleting webhooks", () => {
  it("creates a webhook, shows its secret once, and lists it without the secret", async () => {
    const { url } = endpoint();
    const res = await asAdmin("POST", "/api/admin/webhooks", { url, events: ["member.added", "message.created", "member.added"] });
    expect(res.status).toBe(201);
    const { webhook } = (await res.json()) as { webhook: Created };
    expect(Object.keys(webhook).sort()).toEqual(["events", "id", "secret", "url"]);
    expect(webhook.url).toBe(url);
    // Duplicates removed, the order kept.
    expect(webhook.events).toEqual(["member.added", "message.created"]);
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const listed = (await listWebhooks()).find((w) => w.id === webhook.id);
    expect(listed).toEqual({ id: webhook.id, url, events: ["member.added", "message.created"], createdAt: expect.any(String) });
    const raw = await (await asAdmin("GET", "/api/admin/webhooks")).text();
    expect(raw).not.toContain(webhook.secret);
    expect(raw).not.toContain("secret");
  });

  it("gives every webhook its own id and secret", async () => {
    const a = await createWebhook(endpoint().url);
    const b = await createWebhook(endpoint().url);
    expect(a.id).not.toBe(b.id);
    expect(a.secret).not.toBe(b.secret);
  });

  it("deletes a webhook with 204, then answers 404 for it", async () => {
    const webhook = await createWebhook(endpoint().url);
    const res = await asAdmin("DELETE", `/api/admin/webhooks/${webhook.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await listWebhooks()).some((w) => w.id === webhook.id)).toBe(false);
    await expectError(await asAdmin("DELETE", `/api/admin/webhooks/${webhook.id}`), 404, "not_found");
    await expectError(await asAdmin("DELETE", `/api/admin/webhooks/wh_${uniqueId("none")}`), 404, "not_found");
  });

  it(`allows ${MAX_WEBHOOKS} webhooks and refuses one more with 409`, async () => {
    await deleteAllWebhooks();
    const made: Created[] = [];
    for (let i = 0; i < MAX_WEBHOOKS; i++) made.push(await createWebhook(`https://example.com/hooks/${i}`, ["member.added"]));
    expect(await listWebhooks()).toHaveLength(MAX_WEBHOOKS);
    await expectError(await asAdmin("POST", "/api/admin/webhooks", { url: "https://example.com/one-more", events: ["member.added"] }), 409, "conflict");
    // Deleting one makes room again.
    expect((await asAdmin("DELETE", `/api/admin/webhooks/${made[0]!.id}`)).status).toBe(204);
    const again = await createWebhook("https://example.com/one-more", ["member.added"]);
    for (const w of [...made.slice(1), again]) expect((await asAdmin("DELETE", `/api/admin/webhooks/${w.id}`)).status).toBe(204);
  });
});

describe("what a webhook may be", () => {
  const post = (json: unknown) => asAdmin("POST", "/api/admin/webhooks", json);

  it("accepts a URL of 2048 characters and refuses 2049", async () => {
    const base = "https://example.com/";
    const ok = await post({ url: base + "a".repeat(2048 - base.length), events: ["member.added"] });
    expect(ok.status).toBe(201);
    const { webhook } = (await ok.json()) as { webhook: Created };
    await asAdmin("DELETE", `/api/admin/webhooks/${webhook.id}`);
    await expectError(await post({ url: base + "a".repeat(2049 - base.length), events: ["member.added"] }), 400, "bad_request");
  });

  it("refuses URLs that are not absolute http(s), or carry credentials", async () => {
    for (const url of ["not a url", "/relative/path", "ftp://example.com/h", "javascript:alert(1)", "ws://example.com/h", "https://user:pass@example.com/h", "", 42, null]) {
      await expectError(await post({ url, events: ["member.added"] }), 400, "bad_request");
    }
  });

  it("accepts plain http in dev mode only", async () => {
    const res = await post({ url: "http://127.0.0.1:9/h", events: ["member.added"] });
    expect(res.status).toBe(201);
    await asAdmin("DELETE", `/api/admin/webhooks/${((await res.json()) as { webhook: Created }).webhook.id}`);

    const deployed = { ...env, DEV_MODE: "false", JWT_SECRET: DEV_JWT_SECRET };
    const token = await tokenWithRoles(uniqueId("ops"), ["admin"]);
    const request = (url: string) =>
      app.request(
        "/api/admin/webhooks",
        { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ url, events: ["member.added"] }) },
        deployed,
      );
    const refused = await request("http://example.com/h");
    await expectError(refused, 400, "bad_request");
    const https = await request("https://example.com/deployed");
    expect(https.status).toBe(201);
    await asAdmin("DELETE", `/api/admin/webhooks/${((await https.json()) as { webhook: Created }).webhook.id}`);
  });

  it("needs at least one known event, and at most 20 entries", async () => {
    const url = "https://example.com/h";
    for (const events of [[], ["message.sent"], ["message.created", "nope"], "message.created", [1], null, undefined]) {
      await expectError(await post({ url, events }), 400, "bad_request");
    }
    const twenty = Array.from({ length: 20 }, (_, i) => ALL_EVENTS[i % ALL_EVENTS.length]);
    const ok = await post({ url, events: twenty });
    expect(ok.status).toBe(201);
    const { webhook } = (await ok.json()) as { webhook: Created };
    expect(webhook.events).toEqual(ALL_EVENTS);
    await asAdmin("DELETE", `/api/admin/webhooks/${webhook.id}`);
    await expectError(await post({ url, events: [...twenty, "member.added"] }), 400, "bad_request");
  });

  it("refuses unknown fields and bodies that are not JSON", async () => {
    await expectError(await post({ url: "https://example.com/h", events: ["member.added"], secret: "whsec_mine" }), 400, "bad_request");
    const res = await api("/api/admin/webhooks", {
      method: "POST",
      token: await tokenWithRoles("ops-admin", ["admin"]),
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    await expectError(res, 400, "bad_request");
  });
});

describe("delivery through the queue", () => {
  it("delivers an event signed so that standardwebhooks verifies it", async () => {
    const { name, webhook } = await subscribedEndpoint();
    const evt = event("message.created", { roomId: "r1", message: { id: "m1", text: "héllo ✓" } });
    await publishEvent(env, evt);

    const [got] = await eventually(async () => ((await received(name)).length > 0 ? received(name) : null), "the delivery");
    expect(got!.verified).toBe(true);
    expect(got!.webhookId).toBe(evt.id);
    expect(got!.contentType).toBe("application/json");
    expect(got!.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(got!.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(JSON.parse(got!.body)).toEqual({ id: evt.id, type: evt.type, createdAt: evt.createdAt, data: evt.data });
    expect(got!.payload).toEqual(JSON.parse(got!.body));
    await eventually(async () => (await deliveryRow(env.DB, evt.id, webhook.id))?.status === "delivered", "the delivered row");
  });

  it("delivers only the event types a webhook subscribed to", async () => {
    const members = await subscribedEndpoint(["member.added", "member.removed"]);
    const messages = await subscribedEndpoint(["message.created"]);
    const added = event("member.added", { roomId: "r2", userId: "u1" });
    await publishEvent(env, added);

    await eventually(async () => (await received(members.name)).length === 1, "the member webhook's delivery");
    // The other webhook was never even queued a delivery.
    expect(await deliveryRow(env.DB, added.id, messages.webhook.id)).toBeNull();
    expect(await received(messages.name)).toEqual([]);

    const created = event("message.created");
    await publishEvent(env, created);
    await eventually(async () => (await received(messages.name)).length === 1, "the message webhook's delivery");
    expect((await received(messages.name))[0]!.webhookId).toBe(created.id);
    expect(await received(members.name)).toHaveLength(1);
  });

  it("POSTs once when the same event is published twice, and queues nothing once it is delivered", async () => {
    const { name, webhook } = await subscribedEndpoint(["message.updated"]);
    const evt = event("message.updated");
    await publishEvent(env, evt);
    await publishEvent(env, evt);
    await eventually(async () => (await deliveryRow(env.DB, evt.id, webhook.id))?.status === "delivered", "the delivery");
    await publishEvent(env, evt);
    // Time for any second copy to arrive (the queue's batch timeout is 1 s).
    await new Promise((r) => setTimeout(r, 2500));
    const got = await received(name);
    expect(got).toHaveLength(1);
    expect((await deliveryRow(env.DB, evt.id, webhook.id))!.attempts).toBe(1);
  });

  it("does nothing when no webhook subscribes", async () => {
    await deleteAllWebhooks();
    await subscribedEndpoint(["message.created"]);
    const evt = event("member.removed");
    await publishEvent(env, evt);
    const { results } = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE event_id = ?").bind(evt.id).all();
    expect(results).toEqual([]);
  });

  it("refuses malformed events before queueing anything", async () => {
    await expect(publishEvent(env, { ...event(), id: "" })).rejects.toThrow(TypeError);
    await expect(publishEvent(env, { ...event(), id: "has space" })).rejects.toThrow(TypeError);
    await expect(publishEvent(env, { ...event(), type: "room.created" as WebhookEventType })).rejects.toThrow(TypeError);
    await expect(publishEvent(env, event("message.created", "x".repeat(130_000)))).rejects.toThrow(RangeError);
  });
});

describe("the consumer: acks, retries and at most one successful POST", () => {
  it("retries a 500 with backoff and delivers once with the same Webhook-Id when it gets a 200", async () => {
    const { name, webhook } = await subscribedEndpoint(ALL_EVENTS, [500]);
    const evt = event();
    const body = { webhookId: webhook.id, event: evt };

    const first = await consume([queued(body, 1, "m-500")]);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toEqual([{ msgId: "m-500", delaySeconds: 10 }]);
    expect(await deliveryRow(env.DB, evt.id, webhook.id)).toMatchObject({ status: "pending", attempts: 1, last_status: 500 });

    const second = await consume([queued(body, 2, "m-500")]);
    expect(second.explicitAcks).toEqual(["m-500"]);
    expect(second.retryMessages).toEqual([]);

    const got = await received(name);
    expect(got.map((r) => r.answered)).toEqual([500, 200]);
    expect(got.every((r) => r.verified && r.webhookId === evt.id)).toBe(true);
    expect(await deliveryRow(env.DB, evt.id, webhook.id)).toMatchObject({ status: "delivered", attempts: 2, last_status: 200 });

    // The queue hands it over once more (say the ack was lost): no POST.
    const third = await consume([queued(body, 3, "m-500")]);
    expect(third.explicitAcks).toEqual(["m-500"]);
    expect(await received(name)).toHaveLength(2);
  });

  it("POSTs once when the same batch is delivered twice", async () => {
    const { name, webhook } = await subscribedEndpoint();
    const evt = event("message.deleted");
    const messages = [queued({ webhookId: webhook.id, event: evt }, 1, "m-twice")];
    expect((await consume(messages)).explicitAcks).toEqual(["m-twice"]);
    expect((await consume(messages)).explicitAcks).toEqual(["m-twice"]);
    expect(await received(name)).toHaveLength(1);
  });

  it("POSTs once when two copies of a delivery arrive in one batch, and retries the other copy later", async () => {
    const { name, webhook } = await subscribedEndpoint();
    const body = { webhookId: webhook.id, event: event() };
    const result = await consume([queued(body, 1, "copy-a"), queued(body, 1, "copy-b")]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.retryMessages[0]!.delaySeconds).toBeGreaterThan(0);
    expect(await received(name)).toHaveLength(1);
    // Once the delivery is recorded, the retried copy is acked without a POST.
    const later = await consume([queued(body, 2, result.retryMessages[0]!.msgId)]);
    expect(later.explicitAcks).toEqual([result.retryMessages[0]!.msgId]);
    expect(await received(name)).toHaveLength(1);
  });

  it("does not retry a 400: the receiver refused it", async () => {
    const { name, webhook } = await subscribedEndpoint(ALL_EVENTS, [400]);
    const evt = event();
    const messages = [queued({ webhookId: webhook.id, event: evt }, 1, "m-400")];
    const result = await consume(messages);
    expect(result.explicitAcks).toEqual(["m-400"]);
    expect(result.retryMessages).toEqual([]);
    expect(await deliveryRow(env.DB, evt.id, webhook.id)).toMatchObject({ status: "failed", last_status: 400 });
    expect((await consume(messages)).explicitAcks).toEqual(["m-400"]);
    expect(await received(name)).toHaveLength(1);
  });

  // workerd logs the dropped connection as an uncaught "Network connection lost" of its own;
  // the consumer's fetch rejects and is handled.
  it("retries 408, 429 and a dropped connection", async () => {
    const { name, webhook } = await subscribedEndpoint(ALL_EVENTS, [408, 429, "drop"]);
    const body = { webhookId: webhook.id, event: event() };
    for (let attempts = 1; attempts <= 3; attempts++) {
      const result = await consume([queued(body, attempts, "m-flaky")]);
      expect(result.retryMessages).toEqual([{ msgId: "m-flaky", delaySeconds: backoffSeconds(attempts) }]);
    }
    const row = await deliveryRow(env.DB, body.event.id, webhook.id);
    expect(row).toMatchObject({ status: "pending", attempts: 3, last_status: null });
    expect(row!.last_error).toMatch(/network/);
    expect((await consume([queued(body, 4, "m-flaky")])).explicitAcks).toEqual(["m-flaky"]);
    expect((await received(name)).map((r) => r.answered)).toEqual([408, 429, "drop", 200]);
  });

  it("drops deliveries of a webhook deleted meanwhile", async () => {
    const { name, webhook } = await subscribedEndpoint();
    const evt = event();
    expect((await asAdmin("DELETE", `/api/admin/webhooks/${webhook.id}`)).status).toBe(204);
    const result = await consume([queued({ webhookId: webhook.id, event: evt }, 1, "m-gone")]);
    expect(result.explicitAcks).toEqual(["m-gone"]);
    expect(await received(name)).toEqual([]);
    expect(await deliveryRow(env.DB, evt.id, webhook.id)).toBeNull();
  });

  it("acks a malformed message instead of retrying it forever", async () => {
    const result = await consume([queued({ webhookId: "wh_x", event: { id: "e", type: "nope" } } as unknown as WebhookDelivery, 1, "m-bad")]);
    expect(result.explicitAcks).toEqual(["m-bad"]);
  });

  it("retries batches of a queue it has no consumer for", async () => {
    const batch = createMessageBatch("edge-chat-unknown-staging", [{ id: "m-unknown", timestamp: new Date(), attempts: 1, body: {} }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).retryBatch.retry).toBe(true);
  });
});

describe("retry policy", () => {
  it("retries no answer, 408, 429 and 5xx; delivers on 2xx; gives up on other statuses", () => {
    for (const status of [null, 408, 429, 500, 502, 503, 504]) expect(classify(status)).toBe("retry");
    for (const status of [200, 201, 202, 204, 299]) expect(classify(status)).toBe("delivered");
    for (const status of [301, 302, 400, 401, 403, 404, 410, 413, 422]) expect(classify(status)).toBe("failed");
  });

  it("waits 10 s, then twice as long each time, at most an hour, and at least a receiver's Retry-After", () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffSeconds(a))).toEqual([10, 20, 40, 80, 160]);
    expect(backoffSeconds(9)).toBe(2560);
    expect(backoffSeconds(10)).toBe(BACKOFF_MAX_S);
    expect(backoffSeconds(40)).toBe(BACKOFF_MAX_S);
    expect(backoffSeconds(1, 120)).toBe(120);
    expect(backoffSeconds(5, 30)).toBe(160);
    expect(backoffSeconds(1, 999_999)).toBe(BACKOFF_MAX_S);
  });
});

describe("delivery rows", () => {
  it(`are removed after ${DELIVERY_RETENTION_DAYS} days, and not before`, async () => {
    const webhookId = `wh_${uniqueId("prune")}`;
    const day = 86_400_000;
    const now = Date.now();
    const insert = (eventId: string, ageMs: number) =>
      env.DB.prepare(
        "INSERT INTO webhook_deliveries (event_id, webhook_id, status, attempts, created_at, updated_at) VALUES (?1, ?2, 'delivered', 1, ?3, ?3)",
      )
        .bind(eventId, webhookId, new Date(now - ageMs).toISOString())
        .run();
    await insert("evt_old", DELIVERY_RETENTION_DAYS * day + 1000);
    await insert("evt_recent", DELIVERY_RETENTION_DAYS * day - 60_000);
    expect(await pruneDeliveries(env.DB, now)).toBeGreaterThanOrEqual(1);
    expect(await deliveryRow(env.DB, "evt_old", webhookId)).toBeNull();
    expect(await deliveryRow(env.DB, "evt_recent", webhookId)).not.toBeNull();
  });
});

describe("events from the rooms", () => {
  it("a message, its edit and its deletion, and a member added, reach a subscribed webhook signed and once each", async () => {
    forgetWebhookTypes();
    const { name } = await subscribedEndpoint(["message.created", "message.updated", "message.deleted", "member.added"]);
    forgetWebhookTypes();
    const [a, b, c] = await people("wha", "whb", "whc");
    const group = await createGroup(a!, [b!], "Hooked");
    const message = await postAs(group.id, a!, "hello hooks");
    expect((await call("PATCH", `/api/rooms/${group.id}/messages/${message.id}`, a!, { text: "hello hooks, edited" })).status).toBe(200);
    expect((await call("DELETE", `/api/rooms/${group.id}/messages/${message.id}`, a!)).status).toBe(200);
    expect((await call("POST", `/api/rooms/${group.id}/members`, a!, { userId: c })).status).toBeLessThan(300);
    await flush(group.id);
    await flush(group.id);
    await eventually(async () => (await received(name)).length >= 5, "the room's events at the webhook");
    await new Promise((r) => setTimeout(r, 1500));
    const all = await received(name);
    expect(all.every((r) => r.verified)).toBe(true);
    const types = all.map((r) => (r.payload as { type: string }).type).sort();
    expect(types).toEqual(["member.added", "member.added", "message.created", "message.deleted", "message.updated"]);
    const created = all.find((r) => (r.payload as { type: string }).type === "message.created")!.payload as { id: string; data: { id: string; text: string; seq: number } };
    expect(created.data).toMatchObject({ id: message.id, text: "hello hooks", seq: message.seq });
    expect(new Set(all.map((r) => r.webhookId)).size).toBe(all.length);
  });
});
