/** Putting many messages on a queue. */

/** A queue batch may hold 100 messages and 256 KB in all; JSON length in UTF-16 units, times 3, bounds the bytes. */
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 240_000;

/** Sends in as few batches as the queue's limits allow, in order. */
export async function sendAll<T>(queue: Queue<T>, requests: MessageSendRequest<T>[]): Promise<void> {
  let batch: MessageSendRequest<T>[] = [];
  let bytes = 0;
  for (const request of requests) {
    const size = JSON.stringify(request.body).length * 3;
    if (batch.length > 0 && (bytes + size > BATCH_BYTES || batch.length === BATCH_MESSAGES)) {
      await queue.sendBatch(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(request);
    bytes += size;
  }
  if (batch.length > 0) await queue.sendBatch(batch);
}
