/**
 * Shard regions (README, "Very large rooms: shards"): with ROOM_SHARD_REGIONS listing Durable
 * Object location hints, a very large room's shards are spread over those regions and each new
 * socket is placed on a shard of the region nearest to where it connected from. Fan-out then
 * happens near the people it reaches: the room's one batch per shard crosses an ocean once, not
 * once per socket. Shard `index` belongs to region `index % regions.length`.
 */

/** Cloudflare's Durable Object location hints, each with a point near its middle (lat, lon). */
const CENTRES = {
  wnam: [37.8, -122.4],
  enam: [40.7, -74.0],
  sam: [-23.5, -46.6],
  weur: [50.1, 8.7],
  eeur: [52.2, 21.0],
  apac: [22.3, 114.2],
  "apac-ne": [35.7, 139.7],
  "apac-se": [1.35, 103.8],
  oc: [-33.9, 151.2],
  afr: [-26.2, 28.0],
  me: [25.2, 55.3],
} as const satisfies Record<DurableObjectLocationHint, readonly [number, number]>;

export type Region = keyof typeof CENTRES;

export const isRegion = (name: string): name is Region => Object.hasOwn(CENTRES, name);

/**
 * The region (its index in `regions`) nearest to where a request came from, by the latitude and
 * longitude Cloudflare puts in `request.cf`; the first region when there is no such place (local
 * development) or no regions.
 */
export function regionOf(cf: object | undefined, regions: readonly Region[]): number {
  if (regions.length < 2 || !cf) return 0;
  const { latitude, longitude } = cf as { latitude?: unknown; longitude?: unknown };
  // Strings in request.cf; absent or empty where Cloudflare does not know.
  if (latitude == null || latitude === "" || longitude == null || longitude === "") return 0;
  const lat = Number(latitude);
  const lon = Number(longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return 0;
  let best = 0;
  let bestDistance = Infinity;
  regions.forEach((region, i) => {
    const d = distance(lat, lon, CENTRES[region][0], CENTRES[region][1]);
    if (d < bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

/** The location hint for shard `index`, if the shards have regions. */
export function hintFor(index: number, regions: readonly Region[]): Region | undefined {
  return regions.length > 0 ? regions[index % regions.length] : undefined;
}

/** The central angle between two points (haversine): only compared, so no Earth radius. */
function distance(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return Math.asin(Math.min(1, Math.sqrt(a)));
}
