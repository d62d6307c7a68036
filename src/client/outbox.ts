/**
 * Sends not yet acknowledged, kept so that they go out again, in order and with the same
 * clientId, after a reconnect, and after a page reload too: each room's outbox is mirrored to
 * IndexedDB (through idb-keyval) where there is one, and to memory elsewhere (Node), filed under
 * the server, the user and the room. The server stores a repeated clientId once, so sending
 * one twice (two tabs, a resend after a lost ack) is harmless.
 */
import { createStore, get, update, type UseStore } from "idb-keyval";

/** One unacknowledged send as stored. */
export interface OutboxRecord {
  clientId: string;
  text: string;
  replyTo?: string;
  attachments?: string[];
  /** When it was first sent, by the client's clock. */
  createdAt: string;
}

/** Where outboxes are kept: one list of records per key. */
export interface OutboxStore {
  load(key: string): Promise<OutboxRecord[]>;
  /** Replaces the list under `key` by `change(current)`, atomically where the store can. */
  update(key: string, change: (records: OutboxRecord[]) => OutboxRecord[]): Promise<void>;
}

/** A store that lives as long as the process (or page). */
export function memoryOutboxStore(): OutboxStore {
  const lists = new Map<string, OutboxRecord[]>();
  return {
    load: async (key) => [...(lists.get(key) ?? [])],
    update: async (key, change) => {
      const next = change([...(lists.get(key) ?? [])]);
      if (next.length) lists.set(key, next);
      else lists.delete(key);
    },
  };
}

/** IndexedDB, one readwrite transaction per update, so tabs of one browser never lose each other's writes. */
export function indexedDbOutboxStore(dbName = "edge-chat", storeName = "outbox"): OutboxStore {
  let db: UseStore | null = null;
  const store = () => (db ??= createStore(dbName, storeName));
  return {
    load: async (key) => (await get<OutboxRecord[]>(key, store())) ?? [],
    update: (key, change) => update<OutboxRecord[]>(key, (old) => change(old ?? []), store()),
  };
}

let shared: OutboxStore | null = null;

/** IndexedDB where the runtime has it, else one memory store for the whole process. */
export function defaultOutboxStore(): OutboxStore {
  return (shared ??= "indexedDB" in globalThis ? indexedDbOutboxStore() : memoryOutboxStore());
}

/**
 * One room's outbox: the records in send order in memory, mirrored to the store. Writes are
 * queued one after another so the store sees them in the order they were made; a store that
 * fails (private browsing, quota) leaves the memory copy working for this page.
 */
export class Outbox<E extends OutboxRecord> {
  private readonly entries = new Map<string, E>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private readonly key: Promise<string>,
  ) {}

  get size(): number {
    return this.entries.size;
  }
  get(clientId: string): E | undefined {
    return this.entries.get(clientId);
  }
  has(clientId: string): boolean {
    return this.entries.has(clientId);
  }
  /** Oldest first. */
  list(): E[] {
    return [...this.entries.values()];
  }

  add(entry: E): void {
    this.entries.set(entry.clientId, entry);
    const record = toRecord(entry);
    this.write((records) => [...records.filter((r) => r.clientId !== record.clientId), record]);
  }

  /** Acknowledged or refused: gone from memory and store. */
  remove(clientId: string): E | undefined {
    const entry = this.entries.get(clientId);
    this.entries.delete(clientId);
    this.write((records) => records.filter((r) => r.clientId !== clientId));
    return entry;
  }

  /** Everything in memory leaves memory; the store keeps it for the next time this room is opened. */
  forget(): E[] {
    const all = this.list();
    this.entries.clear();
    return all;
  }

  /** Empties memory and store: nothing here can ever be sent (the room refuses this user). */
  clear(): E[] {
    const all = this.forget();
    this.write(() => []);
    return all;
  }

  /**
   * Records in the store that memory does not have: sends of an earlier page (or of another
   * connection to the room that closed). `make` turns each into an entry, and they go before
   * everything in memory, since they are older.
   */
  async restore(make: (record: OutboxRecord) => E): Promise<E[]> {
    let records: OutboxRecord[] = [];
    try {
      records = await this.store.load(await this.key);
    } catch {
      // no usable store: nothing to restore
    }
    const restored = records.filter((r) => !this.entries.has(r.clientId)).map(make);
    const current = this.list();
    this.entries.clear();
    for (const e of [...restored, ...current]) this.entries.set(e.clientId, e);
    return restored;
  }

  /** Resolves once every write made so far is in the store (or has failed). */
  flushed(): Promise<void> {
    return this.writes;
  }

  private write(change: (records: OutboxRecord[]) => OutboxRecord[]): void {
    this.writes = this.writes.then(async () => {
      try {
        await this.store.update(await this.key, change);
      } catch {
        // See the class comment: memory still has it.
      }
    });
  }
}

function toRecord(e: OutboxRecord): OutboxRecord {
  const record: OutboxRecord = { clientId: e.clientId, text: e.text, createdAt: e.createdAt };
  if (e.replyTo) record.replyTo = e.replyTo;
  if (e.attachments?.length) record.attachments = e.attachments;
  return record;
}
