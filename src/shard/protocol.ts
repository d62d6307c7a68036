/**
 * What a room and its shards say to each other (README, "Very large rooms"). The room is the
 * only writer: it decides, stores and orders everything; a shard holds sockets and passes on, in
 * order, what the room gives it.
 */

/**
 * One step of the stream a room keeps with one shard, applied in order:
 * - `{f, n, x?}`: frames (`n` of them, JSON joined with commas) for every live socket of the
 *   shard, but the sockets of user `x`;
 * - `{f, n, to}`: frames for one socket. The first a pending socket gets is its `welcome`: from
 *   there on it is live and gets the room's frames;
 * - `{close, code, reason}`: the room closes one socket (a removed member, a user's oldest).
 */
export type StreamItem =
  | { f: string; n: number; x?: string; to?: undefined; close?: undefined }
  | { f: string; n: number; to: string; x?: undefined; close?: undefined }
  | { close: string; code: number; reason: string; f?: undefined; to?: undefined };

/**
 * One delivery: the items of call number `call` of the room instance `epoch` (its start time).
 * Numbers are consecutive within an epoch; a number skipped means the room dropped items it could
 * not deliver, and the shard's sockets must reconnect (and `sync`) to learn what they missed.
 */
export interface Delivery {
  epoch: number;
  call: number;
  items: StreamItem[];
}

/** What a shard answers a delivery with: who it is now (a new id after a restart) and how many sockets it holds. */
export interface DeliveryReceipt {
  instance: string;
  sockets: number;
}

/** Object names: a room's shard n is `<roomId>#<n>` (room ids never contain `#`). */
export const shardName = (roomId: string, index: number) => `${roomId}#${index}`;
