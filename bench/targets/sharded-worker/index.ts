/**
 * The project as the largeroom section's ours-sharded runs it (bench/lib/sharding.mjs): the same
 * Worker and classes, with the two things a single machine's processes cannot get from
 * Cloudflare's edge supplied here, and nothing else changed:
 *
 * - In the rooms' workerd (A), shards of each region live in another workerd, one per region:
 *   `ROOM_SHARD` reaches the first region's, `ROOM_SHARD_2` the second's. The room asks for a
 *   shard with its region's location hint (src/shard/RoomShard.ts shardStub); the namespace
 *   below picks the binding by that hint, as Cloudflare places an object by it.
 * - In a shards' workerd (B1, B2), every request is stamped with the latitude and longitude of
 *   the region it stands for (`BENCH_SHARD_FROM`), as Cloudflare stamps `request.cf`: the room
 *   then places the sockets that enter there on that region's shards.
 */
import project, { Eraser, Limiter, Retention, Room as ProjectRoom, RoomShard, Stats, Ticket, User } from "../../../src/index";
import type { Bindings } from "../../../src/env";

export { Eraser, Limiter, Retention, RoomShard, Stats, Ticket, User };

type BenchEnv = Bindings & { ROOM_SHARD_2?: Bindings["ROOM_SHARD"]; BENCH_SHARD_FROM?: string };

const spreadEnvs = new WeakMap<object, Bindings>();

/** `env` with ROOM_SHARD choosing between the regions' namespaces by location hint (A only). */
function spread(env: BenchEnv): Bindings {
  const second = env.ROOM_SHARD_2;
  if (!second) return env;
  let out = spreadEnvs.get(env);
  if (!out) {
    const first = env.ROOM_SHARD;
    const secondHint = (env.ROOM_SHARD_REGIONS ?? "").split(",")[1]?.trim();
    const namespace = {
      idFromName: (name: string) => ({ name }),
      get(id: { name: string }, options?: DurableObjectNamespaceGetDurableObjectOptions) {
        const ns = options?.locationHint === secondHint ? second : first;
        return ns.get(ns.idFromName(id.name));
      },
    };
    out = { ...env, ROOM_SHARD: namespace as unknown as Bindings["ROOM_SHARD"] };
    spreadEnvs.set(env, out);
  }
  return out;
}

export class Room extends ProjectRoom {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, spread(env));
  }
}

export default {
  ...project,
  fetch(request: Request, env: BenchEnv, ctx: ExecutionContext) {
    const from = env.BENCH_SHARD_FROM;
    const stamped = from ? new Request(request, { cf: JSON.parse(from) }) : request;
    return project.fetch(stamped, spread(env), ctx);
  },
} satisfies ExportedHandler<Bindings>;
