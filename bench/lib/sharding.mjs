/**
 * How the bench runs the project with a room's sockets spread over shard Durable Objects
 * (issue 13), the `ours-sharded` target of the largeroom section. One workerd runs every object
 * on one thread (README, issue 13 A), so shards in the room's workerd could only add to its
 * work; separate machines are modelled by separate workerd processes, the shards of each of two
 * regions (ROOM_SHARD_REGIONS, src/shard/regions.ts) in their own:
 *
 *   workerd A   the project as Worker `edge-chat-sharded`, with SHARD_VARS over the bench's vars;
 *               its shard binding reaches B1, and a second one (ROOM_SHARD_2) B2
 *   workerd B1  the project as Worker `edge-chat-shards`: the shards of the first region
 *   workerd B2  the project as Worker `edge-chat-shards-2`: the shards of the second region
 *
 * In B1 and B2 the shard class is their own and every other Durable Object binding points back
 * at A (`scriptName: edge-chat-sharded`); each has its own D1 (the Worker's user-row upserts land
 * there; the rooms' data is in A). All three run bench/targets/sharded-worker, the project plus
 * what Cloudflare's edge would supply: A's room picks B1 or B2 by the shard's location hint, and
 * B1 and B2 stamp `request.cf` with a place in their region, so the room places the sockets
 * that enter there on that region's shards.
 *
 * They share one dev registry directory, through which Miniflare connects a binding to another
 * process's objects (workerd's debug port; README, issue 13 B). Senders connect to A's Worker,
 * receivers to B1's and B2's in turn, as a load balancer would route a socket to the machines
 * nearest to it. (A socket upgraded at A and handed to B would have every frame relayed by A.)
 *
 * The project has to provide the rest: a Durable Object class named SHARD_CLASS bound in
 * wrangler.toml, turned on by SHARD_VARS. Until wrangler.toml binds that class, ours-sharded is
 * skipped with the note shardingMissing() gives. If the project names them otherwise, change them here.
 */

/** The shard Durable Object class in wrangler.toml. `BENCH_SHARD_CLASS` overrides it (to try the plumbing). */
export const SHARD_CLASS = process.env.BENCH_SHARD_CLASS ?? "RoomShard";

/**
 * The Worker vars that turn sharding on for a room of the bench's sizes (over lib/vars.mjs).
 * `BENCH_SHARD_VARS` (JSON) replaces them.
 */
export const SHARD_VARS = process.env.BENCH_SHARD_VARS
  ? JSON.parse(process.env.BENCH_SHARD_VARS)
  : { ROOM_SHARD_THRESHOLD: "200", ROOM_SHARD_REGIONS: "wnam,weur" };

/**
 * How many shards' processes: one per region (2), or one for both (1: on a 2-core box every extra
 * process costs the box more than it adds; bench/README.md, issue 13). `BENCH_SHARD_PROCESSES`.
 */
export const SHARD_PROCESSES = Number(process.env.BENCH_SHARD_PROCESSES ?? "2") === 1 ? 1 : 2;

/** The Worker names: the rooms' process, and the shards' processes. */
export const ROOMS_WORKER = "edge-chat-sharded";
export const SHARDS_WORKERS = ["edge-chat-shards", "edge-chat-shards-2"].slice(0, SHARD_PROCESSES);

/** Where the requests entering each shards' process come from: a place in its region (request.cf). */
export const REGION_PLACES = [
  { latitude: "45.52", longitude: "-122.68" },
  { latitude: "48.86", longitude: "2.35" },
];

/** The binding name of SHARD_CLASS in the project's Durable Object bindings, or null. */
export function shardBinding(durableObjects = {}) {
  for (const [name, def] of Object.entries(durableObjects)) {
    const className = typeof def === "string" ? def : def.className;
    if (className === SHARD_CLASS) return name;
  }
  return null;
}

/** Why ours-sharded cannot run with these Durable Object bindings (wrangler.toml's), or null. */
export function shardingMissing(durableObjects) {
  return shardBinding(durableObjects) ? null : `the project has no sharding yet (wrangler.toml binds no Durable Object class ${SHARD_CLASS})`;
}

/**
 * The project's Durable Object bindings for one process: in A (`side: "rooms"`) the shard binding
 * points at B1 and ROOM_SHARD_2 (the same class) at B2; in a shards' process (`side: "shards"`)
 * every other binding points at A.
 */
export function shardedDurableObjects(durableObjects, side) {
  const out = {};
  for (const [name, def] of Object.entries(durableObjects)) {
    const d = typeof def === "string" ? { className: def } : def;
    const isShard = d.className === SHARD_CLASS;
    if (side === "rooms") {
      out[name] = isShard ? { ...d, scriptName: SHARDS_WORKERS[0] } : d;
      // The second region's shards: in their own process, or with the first's when there is one.
      if (isShard) out[`${name}_2`] = { ...d, scriptName: SHARDS_WORKERS.at(-1) };
    } else out[name] = isShard ? d : { ...d, scriptName: ROOMS_WORKER };
  }
  return out;
}

/** The project's Durable Object bindings as wrangler.toml declares them: { BINDING: className }. */
export async function projectDurableObjects(root) {
  const { createRequire } = await import("node:module");
  const { join } = await import("node:path");
  const { pathToFileURL } = await import("node:url");
  const wrangler = await import(pathToFileURL(createRequire(join(root, "package.json")).resolve("wrangler")).href);
  const config = wrangler.unstable_readConfig({ config: join(root, "wrangler.toml") });
  return Object.fromEntries((config.durable_objects?.bindings ?? []).map((b) => [b.name, b.class_name]));
}
