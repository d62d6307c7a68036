/**
 * How the bench runs the project with a room's sockets spread over shard Durable Objects
 * (issue 13), the `ours-sharded` target of the largeroom section. One workerd runs every object
 * on one thread (README, issue 13 A), so shards in the room's workerd could only add to its
 * work; separate machines are modelled by a second workerd (B) that holds the shards:
 *
 *   workerd A  the project again as Worker `edge-chat-sharded`, with SHARD_VARS over the bench's
 *              vars, and its shard binding pointing at B (`scriptName: edge-chat-shards`)
 *   workerd B  the same bundle as Worker `edge-chat-shards`: the shard class is its own, every
 *              other Durable Object binding points back at A (`scriptName: edge-chat-sharded`),
 *              and its own D1 (the Worker's user-row upserts land there; the rooms' data is in A)
 *
 * Both share one dev registry directory, through which Miniflare connects a binding to the other
 * process's objects (workerd's debug port; README, issue 13 B). Senders connect to A's Worker,
 * receivers to B's: as a load balancer would route a socket to its shard's machine. (A socket
 * upgraded at A and handed to B would have every frame relayed by A.)
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
export const SHARD_VARS = process.env.BENCH_SHARD_VARS ? JSON.parse(process.env.BENCH_SHARD_VARS) : { ROOM_SHARD_THRESHOLD: "200" };

/** The Worker names in the two processes. */
export const ROOMS_WORKER = "edge-chat-sharded";
export const SHARDS_WORKER = "edge-chat-shards";

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
 * The project's Durable Object bindings for one side: in A (`side: "rooms"`) the shard binding
 * points at B; in B (`side: "shards"`) every other binding points at A.
 */
export function shardedDurableObjects(durableObjects, side) {
  const out = {};
  for (const [name, def] of Object.entries(durableObjects)) {
    const d = typeof def === "string" ? { className: def } : def;
    const isShard = d.className === SHARD_CLASS;
    if (side === "rooms") out[name] = isShard ? { ...d, scriptName: SHARDS_WORKER } : d;
    else out[name] = isShard ? d : { ...d, scriptName: ROOMS_WORKER };
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
