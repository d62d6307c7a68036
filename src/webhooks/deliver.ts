/**
 * The webhooks queue's consumer: POSTs each delivery, signed per Standard Webhooks, and decides
 * from the answer whether it is done, failed for good, or to be retried later. docs/webhooks.md
 * is the integrator's view of the same rules.
 */
import { Webhook } from "standardwebhooks";
import * as z from "../lib/zod";
import { log } from "../lib/log";
import { EVENT_ID_PATTERN, WEBHOOK_EVENT_TYPES, type WebhookDelivery } from "./events";
import { claimDelivery, recordOutcome, type Outcome } from "./store";

/** How long a receiver may take to answer; a slower answer counts as a failure to retry. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How long a claim keeps other copies of a delivery away: the POST's timeout and time to record it. */
export const CLAIM_LEASE_MS = DELIVERY_TIMEOUT_MS + 20_000;
/** Retry delays: BASE · 2^(attempt − 1) seconds, at most MAX (Queues allows up to 12 hours). */
export const BACKOFF_BASE_S = 10;
export const BACKOFF_MAX_S = 3600;

export type WebhookConsumerEnv = Pick<Env, "DB">;

const deliverySchema = z.object({
  webhookId: z.string().check(z.minLength(1), z.maxLength(100)),
  event: z.object({
    id: z.string().check(z.regex(EVENT_ID_PATTERN)),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    createdAt: z.string(),
    data: z.unknown(),
  }),
});

/** The queue handler for webhook deliveries: every message is acked or retried on its own. */
export async function consumeWebhooks(batch: MessageBatch<WebhookDelivery>, env: WebhookConsumerEnv): Promise<void> {
  await Promise.all(batch.messages.map((message) => handle(message, env)));
}

async function handle(message: Message<WebhookDelivery>, env: WebhookConsumerEnv): Promise<void> {
  const parsed = deliverySchema.safeParse(message.body);
  if (!parsed.success) {
    // No retry can make it deliverable.
    log.error({ msg: "webhook delivery malformed; dropped", messageId: message.id });
    message.ack();
    return;
  }
  try {
    const next = await deliver(env, parsed.data as WebhookDelivery, message.attempts);
    if (next.ack) message.ack();
    else message.retry({ delaySeconds: next.delaySeconds });
  } catch (error) {
    // D1 failed before or after the POST: the claim (if any) runs out and a retry takes over.
    log.error({ msg: "webhook delivery error", messageId: message.id, error });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

type Next = { ack: true } | { ack: false; delaySeconds: number };

async function deliver(env: WebhookConsumerEnv, { webhookId, event }: WebhookDelivery, attempts: number): Promise<Next> {
  const claim = await claimDelivery(env.DB, event.id, webhookId, Date.now(), CLAIM_LEASE_MS);
  const fields = { eventId: event.id, webhookId, type: event.type, attempts };
  if (claim.kind === "gone" || claim.kind === "done") {
    log.info({ msg: "webhook delivery skipped", ...fields, reason: claim.kind === "gone" ? "webhook deleted" : `already ${claim.status}` });
    return { ack: true };
  }
  // Another copy is POSTing (or died doing so): look again once its claim has run out.
  if (claim.kind === "busy") return { ack: false, delaySeconds: Math.ceil(claim.retryInMs / 1000) + 1 };

  const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data: event.data });
  const answer = await post(claim.url, claim.secret, event.id, body);
  const status = classify(answer.status);
  const outcome: Outcome = { status: status === "retry" ? "pending" : status, httpStatus: answer.status, error: answer.error };
  await recordOutcome(env.DB, event.id, webhookId, outcome, new Date());
  log.info({ msg: "webhook delivery", ...fields, httpStatus: answer.status, outcome: status });
  if (status !== "retry") return { ack: true };
  return { ack: false, delaySeconds: backoffSeconds(attempts, answer.retryAfter) };
}

interface Answer {
  status: number | null;
  error: string | null;
  retryAfter: number | null;
}

/**
 * One signed POST. Signed anew on every attempt: the timestamp is part of the signature, and
 * receivers refuse old ones (standardwebhooks allows 5 minutes). The id stays the event's.
 */
async function post(url: string, secret: string, id: string, body: string): Promise<Answer> {
  const now = new Date();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "edge-chat-webhooks",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(id, now, body),
      },
      body,
      // A redirect is not followed: it would turn the POST into a GET, or send the event elsewhere.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : `HTTP ${res.status}`, retryAfter: retryAfterSeconds(res.headers.get("retry-after")) };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    const reason = timedOut ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : `network error: ${String(error)}`;
    return { status: null, error: reason.slice(0, 300), retryAfter: null };
  }
}

/**
 * 2xx: delivered. 408, 429, 5xx and no answer: retried. Any other status (a 4xx, or a redirect):
 * the receiver refuses it, and sending it again would not change that.
 */
export function classify(status: number | null): "delivered" | "failed" | "retry" {
  if (status === null || status === 408 || status === 429 || status >= 500) return "retry";
  if (status >= 200 && status < 300) return "delivered";
  return "failed";
}

/** Seconds before the next attempt after `attempts` (1 = the first), honouring a receiver's Retry-After up to the cap. */
export function backoffSeconds(attempts: number, retryAfter: number | null = null): number {
  const exponential = Math.min(BACKOFF_BASE_S * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_S);
  return retryAfter === null ? exponential : Math.max(exponential, Math.min(retryAfter, BACKOFF_MAX_S));
}

function retryAfterSeconds(header: string | null): number | null {
  return header !== null && /^\d{1,9}$/.test(header.trim()) ? Number(header.trim()) : null;
}
