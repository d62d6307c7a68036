/**
 * The room's side of its streams to its shards (src/shard/): what each outbox flush sends to
 * sockets held elsewhere is queued per shard, in order, and handed over one call at a time.
 *
 * One call in flight per shard keeps the order without relying on anything else (calls on one
 * stub are delivered in order too, but a stub that broke takes its calls with it), and whatever
 * queues meanwhile leaves together in the next call: the busier the room, the fewer calls per
 * frame. A call that fails is retried, as the same numbered call, with a new stub; the shard
 * skips a number it has applied. A shard that cannot be reached for long loses what queued for it:
 * the numbers then skip, and the shard closes its sockets so their clients reconnect and `sync`.
 * Calls leave through the room's output gate, so nothing reaches a shard before it is durable.
 */
import { log } from "../lib/log";
import type { Delivery, DeliveryReceipt, StreamItem } from "../shard/protocol";
import type { RoomShard } from "../shard/RoomShard";
import { isRemote, type Pending } from "./outbox";

/** At most this much JSON per call; more waits for the next. */
export const MAX_CALL_BYTES = 4 * 1024 * 1024;
/** A shard that has this much waiting for it (unreachable for a while) loses it. */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** Retries of one call, doubling from 50 ms to 2 s between them (about 15 s in all), before it is given up. */
export const MAX_ATTEMPTS = 12;

export interface ShardLinkOptions {
  stub: (shard: number) => DurableObjectStub<RoomShard>;
  waitUntil: (promise: Promise<unknown>) => void;
  /** Sockets the room knows on the shard, to compare with what the shard reports. */
  count: (shard: number) => number;
  /** The shard restarted, or its count disagrees with the room's: the room compares rosters. */
  stale: (shard: number) => void;
  /** This room instance's epoch, later than any earlier instance's; asked once, when first needed. */
  epoch: () => number;
}

class Link {
  queue: StreamItem[] = [];
  queuedBytes = 0;
  next = 1;
  inFlight: Delivery | null = null;
  attempts = 0;
  stub: DurableObjectStub<RoomShard> | null = null;
  instance: string | null = null;
  recheck: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly shard: number) {}
}

export class ShardLinks {
  private readonly links = new Map<number, Link>();
  private started: number | null = null;

  constructor(private readonly o: ShardLinkOptions) {}

  /** This room instance's epoch: call numbers start again at 1 with every instance. */
  get epoch(): number {
    return (this.started ??= this.o.epoch());
  }

  /** Queues what an outbox flush has for shards: whole-room frames to each of `shards`, a socket's own to its shard. */
  forward(frames: Pending[], shards: number[]): void {
    const touched = new Set<Link>();
    for (const p of frames) {
      if (p.to === null) {
        const item: StreamItem = p.except !== undefined ? { f: p.json, n: p.count, x: p.except } : { f: p.json, n: p.count };
        for (const shard of shards) touched.add(this.push(shard, item, p.json.length));
      } else if (isRemote(p.to)) {
        touched.add(this.push(p.to.shard, { f: p.json, n: p.count, to: p.to.id }, p.json.length));
      }
    }
    for (const link of touched) this.pump(link);
  }

  /** Closes a socket on a shard, after everything queued for it before. */
  close(shard: number, id: string, code: number, reason: string): void {
    this.pump(this.push(shard, { close: id, code, reason }, reason.length));
  }

  /** The ids of the sockets a shard holds (or is about to), for the room to compare with its own. */
  async roster(shard: number): Promise<string[]> {
    const link = this.link(shard);
    try {
      return await (link.stub ??= this.o.stub(shard)).roster();
    } catch (error) {
      link.stub = null;
      throw error;
    }
  }

  private link(shard: number): Link {
    let link = this.links.get(shard);
    if (!link) this.links.set(shard, (link = new Link(shard)));
    return link;
  }

  private push(shard: number, item: StreamItem, bytes: number): Link {
    const link = this.link(shard);
    link.queue.push(item);
    link.queuedBytes += bytes + 32;
    if (link.queuedBytes > MAX_QUEUED_BYTES) this.drop(link, "too much waiting for the shard");
    return link;
  }

  private pump(link: Link): void {
    if (link.inFlight !== null || link.queue.length === 0) return;
    let bytes = 0;
    let taken = 0;
    while (taken < link.queue.length) {
      const item = link.queue[taken]!;
      const size = (item.f?.length ?? 0) + 32;
      if (taken > 0 && bytes + size > MAX_CALL_BYTES) break;
      bytes += size;
      taken++;
    }
    const items = link.queue.splice(0, taken);
    link.queuedBytes = Math.max(0, link.queuedBytes - bytes);
    link.inFlight = { epoch: this.epoch, call: link.next++, items };
    link.attempts = 0;
    this.send(link);
  }

  private send(link: Link): void {
    const delivery = link.inFlight!;
    link.attempts++;
    const stub = (link.stub ??= this.o.stub(link.shard));
    const call = stub.deliver(delivery).then(
      (receipt) => {
        link.inFlight = null;
        this.received(link, receipt);
        this.pump(link);
      },
      (error: unknown) => {
        // A stub that threw stays broken: the next attempt gets a new one.
        link.stub = null;
        log.warn({ msg: "delivery to shard failed", shard: link.shard, call: delivery.call, attempt: link.attempts, error });
        if (link.attempts >= MAX_ATTEMPTS) {
          link.inFlight = null;
          this.drop(link, "the shard did not answer");
          return;
        }
        setTimeout(() => this.send(link), Math.min(2000, 50 * 2 ** (link.attempts - 1)));
      },
    );
    this.o.waitUntil(call);
  }

  /** Gives up what waits for the shard; the skipped number tells it its sockets missed frames. */
  private drop(link: Link, why: string): void {
    log.warn({ msg: "frames for shard dropped", shard: link.shard, why, items: link.queue.length });
    link.queue = [];
    link.queuedBytes = 0;
    // The next call carries the skipped number: the shard learns of the gap with it.
    link.next++;
  }

  private received(link: Link, receipt: DeliveryReceipt): void {
    if (link.instance !== receipt.instance) {
      // A shard met for the first time by this room instance, or one that restarted: sockets it
      // lost while the room was not listening are found by comparing rosters.
      link.instance = receipt.instance;
      this.o.stale(link.shard);
    } else if (receipt.sockets !== this.o.count(link.shard) && link.recheck === null) {
      // Joins and leaves on their way make counts differ for a moment; a difference that lasts is looked into.
      link.recheck = setTimeout(() => {
        link.recheck = null;
        this.o.stale(link.shard);
      }, 5000);
    }
  }
}
