/**
 * The Worker's queue handler: hands each batch to the consumer of its queue. Queues are named
 * `<name>` in production and `<name>-staging` in staging (wrangler.toml), so the consumer is
 * chosen by the name without that suffix.
 */
import type { Bindings } from "./env";
import { log } from "./lib/log";
import { consumeEvents } from "./notify/consumer";
import { consumeWebhooks } from "./webhooks";

type Consumer = (batch: MessageBatch<never>, env: Bindings, ctx: ExecutionContext) => Promise<void>;

const CONSUMERS: Record<string, Consumer> = {
  "edge-chat-events": consumeEvents,
  "edge-chat-webhooks": consumeWebhooks,
};

/** A queue's name without its environment's suffix. */
export const queueBase = (name: string) => name.replace(/-staging$/, "");

export async function handleQueue(batch: MessageBatch, env: Bindings, ctx: ExecutionContext): Promise<void> {
  const consume = CONSUMERS[queueBase(batch.queue)];
  if (!consume) {
    // Retried, never dropped: after max_retries the queue's dead-letter queue keeps them.
    log.error({ msg: "no consumer for queue", queue: batch.queue, messages: batch.messages.length });
    batch.retryAll();
    return;
  }
  await consume(batch as MessageBatch<never>, env, ctx);
}
