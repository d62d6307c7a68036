/**
 * Shard regions (src/shard/regions.ts): this project runs with ROOM_SHARD_THRESHOLD 2 and
 * ROOM_SHARD_REGIONS "wnam,weur", so shards 0, 2, 4… serve western North America and 1, 3, 5…
 * western Europe, and a socket goes to a shard of the region nearest to where it connected from
 * (request.cf's latitude and longitude, set here as Cloudflare's edge would).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { Placement } from "../../src/room/placement";
import { hintFor, regionOf } from "../../src/shard/regions";
import { connect, sendAndAck, uniqueRoom } from "../helpers";
import { layout } from "../shards/layout";

const PARIS = { latitude: "48.86", longitude: "2.35" };
const SEATTLE = { latitude: "47.61", longitude: "-122.33" };
const TOKYO = { latitude: "35.68", longitude: "139.69" };

/** A room socket opened from `where` (no `cf` at all: as in local development). */
const connectFrom = async (room: string, user: string, where?: Record<string, string>) => (await connect(room, user, user, where)).socket;

describe("shard regions", () => {
  it("runs with two regions and two sockets per object in this project", () => {
    const config = readConfig(env);
    expect(config.roomShardRegions).toEqual(["wnam", "weur"]);
    expect(config.roomShardThreshold).toBe(2);
  });

  it("finds the nearest listed region from the request's latitude and longitude, and the first without them", () => {
    const regions = ["wnam", "weur", "apac-ne"] as const;
    expect(regionOf(PARIS, regions)).toBe(1);
    expect(regionOf(SEATTLE, regions)).toBe(0);
    expect(regionOf(TOKYO, regions)).toBe(2);
    // Nowhere near any: still the nearest.
    expect(regionOf({ latitude: "-33.87", longitude: "151.21" }, regions)).toBe(2);
    for (const cf of [undefined, {}, { latitude: "", longitude: "" }, { latitude: "x", longitude: "2" }, { latitude: null, longitude: null }]) {
      expect(regionOf(cf, regions)).toBe(0);
    }
    expect(regionOf(PARIS, ["wnam"])).toBe(0);
    expect(regionOf(PARIS, [])).toBe(0);
  });

  it("gives each shard its region's location hint, and none without regions", () => {
    expect([0, 1, 2, 3].map((n) => hintFor(n, ["wnam", "weur"]))).toEqual(["wnam", "weur", "wnam", "weur"]);
    expect(hintFor(5, [])).toBeUndefined();
  });

  it("places on the room first, then on the first shard of the region with room, whatever region number it is asked for", () => {
    const counts = { here: 0, on: new Map<number, number>() };
    const placement = new Placement(2, { here: () => counts.here, on: (s) => counts.on.get(s) ?? 0 }, 2);
    const place = (region: number) => {
      const at = placement.place(region);
      placement.arrived(at);
      if (at === null) counts.here++;
      else counts.on.set(at, (counts.on.get(at) ?? 0) + 1);
      return at;
    };
    expect([place(1), place(1)]).toEqual([null, null]);
    expect([place(1), place(1), place(1), place(0), place(1)]).toEqual([1, 1, 3, 0, 3]);
    // A region number outside the list (or not a number at all) is the first region.
    expect([place(7), place(-1), place(Number.NaN)]).toEqual([0, 2, 2]);
  });

  it("places each socket past the room's own on a shard of the region nearest to it, at the same URL", async () => {
    const room = await uniqueRoom("regions", ["alice", "bob", "carol", "dana", "erin", "frank", "gus"]);
    const sockets = [
      await connectFrom(room, "alice", PARIS),
      await connectFrom(room, "bob", SEATTLE),
      await connectFrom(room, "carol", PARIS),
      await connectFrom(room, "dana", SEATTLE),
      await connectFrom(room, "erin", PARIS),
      await connectFrom(room, "frank", PARIS),
      await connectFrom(room, "gus"),
    ];
    // The room holds two wherever they are; Paris fills shard 1 and then 3, Seattle and the
    // socket with no location share shard 0.
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2, 1: 2, 3: 1 } });

    // One room still: a message from a European shard reaches every socket, in both regions.
    const ack = await sendAndAck(sockets[5]!, "bonjour");
    for (const socket of sockets) {
      await socket.until(() => socket.all("message").some((m) => m.message.seq === ack.seq), "the message");
    }
    sockets.forEach((s) => s.close());
    // Every leave reported before the file ends (its teardown would cut the reports short).
    await expect.poll(() => layout(room)).toEqual({ here: 0, shards: {} });
  });
});
