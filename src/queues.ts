/** The queue consumers, by queue: wrangler.toml names one queue per environment, so the binding's purpose is read from the name. */
import type { Bindings } from "./env";
import { consumeEvents } from "./notify/consumer";
import type { EventMessage } from "./notify/events";

export async function consumeQueue(batch: MessageBatch, env: Bindings): Promise<void> {
  if (batch.queue.startsWith("edge-chat-events")) return consumeEvents(batch as MessageBatch<EventMessage>, env);
  throw new Error(`no consumer for queue ${batch.queue}`);
}
