/** Where a room's sockets are, as the room itself counts them (for the shard tests). */
import { runInDurableObject } from "cloudflare:test";
import type { Room } from "../../src/room/Room";
import type { ShardSockets } from "../../src/room/shard-sockets";
import { partsOf, roomStubOf } from "../helpers";

/** The room's own sockets (`here`) and its count per shard. */
export async function layout(room: string) {
  return runInDurableObject(roomStubOf(room), (r: Room) => {
    const shards = (r as unknown as { shards: { sockets: ShardSockets } }).shards.sockets;
    const perShard = Object.fromEntries(
      shards
        .shards()
        .sort()
        .map((k) => [k, shards.countOn(k)]),
    );
    return { here: partsOf(r).connections.size, shards: perShard };
  });
}
