/**
 * Process A's Worker ("room-a"): a Room object that calls shards, by one of these mechanisms
 * (`mech`), each call one frame to deliver:
 *
 *   local-rpc       RPC to a Shard in this same workerd (the baseline: no process boundary)
 *   registry-rpc    RPC to the Shard in process B: a Durable Object binding whose scriptName is
 *                   B's Worker, resolved through Miniflare's dev registry (workerd's debug port)
 *   registry-fetch  the same binding, fetch() instead of RPC
 *   service-rpc     RPC to B's Worker entrypoint ShardApi (a service binding through the dev
 *                   registry), which calls its Shard
 *   http-fetch      plain fetch() over loopback to B's Worker, which calls its Shard
 *   ws-link         one WebSocket from the room to the Shard (opened over loopback to B's Worker,
 *                   kept open); a frame is one message, answered by "ok <n>"
 *
 * Routes: /room/<name>/run?mech=&shard=&n=&bytes=&inflight=  n calls, `inflight` at a time
 *         /ws/<shard>?via=a   a client WebSocket upgrade handed to the Shard in B (registry binding)
 *         /wsl/<shard>        the same to a Shard in this workerd
 */
import { DurableObject } from "cloudflare:workers";
export { Shard } from "./shard.js";

export class Room extends DurableObject {
  stubs = new Map();
  links = new Map();

  stub(ns, name) {
    const key = `${ns}:${name}`;
    if (!this.stubs.has(key)) this.stubs.set(key, this.env[ns].get(this.env[ns].idFromName(name)));
    return this.stubs.get(key);
  }

  async link(name) {
    if (!this.links.has(name)) {
      const res = await fetch(`${this.env.B_URL}/shard/${name}/link`, { headers: { Upgrade: "websocket" } });
      const ws = res.webSocket;
      if (!ws) throw new Error(`link to ${name}: HTTP ${res.status}`);
      ws.accept();
      const waiting = [];
      ws.addEventListener("message", (e) => waiting.shift()?.(Number(String(e.data).slice(3))));
      this.links.set(name, { ws, waiting });
    }
    return this.links.get(name);
  }

  async call(mech, name, frame) {
    switch (mech) {
      case "local-rpc":
        return this.stub("LOCAL_SHARD", name).deliver(frame);
      case "registry-rpc":
        return this.stub("SHARD", name).deliver(frame);
      case "registry-fetch":
        return Number(await (await this.stub("SHARD", name).fetch(`http://shard/shard/${name}/deliver`, { method: "POST", body: frame })).text());
      case "service-rpc":
        return this.env.SHARD_API.deliver(name, frame);
      case "http-fetch":
        return Number(await (await fetch(`${this.env.B_URL}/shard/${name}/deliver`, { method: "POST", body: frame })).text());
      case "ws-link": {
        const l = await this.link(name);
        return new Promise((resolve) => {
          l.waiting.push(resolve);
          l.ws.send(frame);
        });
      }
      default:
        throw new Error(`unknown mech ${mech}`);
    }
  }

  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const mech = q.get("mech");
    const shard = q.get("shard") ?? "cost";
    const n = Number(q.get("n") ?? 100);
    const inflight = Number(q.get("inflight") ?? 1);
    // Each frame carries its call's index, so clients can check that frames arrive in call order.
    const pad = "x".repeat(Math.max(0, Number(q.get("bytes") ?? 2048) - 36));
    const frameOf = (k) => `{"k":${k},"type":"batch","pad":"${pad}"}`;
    let next = 0;
    let delivered = 0;
    const lat = [];
    const worker = async () => {
      while (next < n) {
        const k = next++;
        const t0 = performance.now();
        delivered += await this.call(mech, shard, frameOf(k));
        lat.push(performance.now() - t0);
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inflight }, worker));
    const ms = performance.now() - t0;
    lat.sort((a, b) => a - b);
    return Response.json({ mech, n, inflight, bytes: frameOf(0).length, delivered, ms, p50: lat[Math.floor(n / 2)], p99: lat[Math.floor(n * 0.99)] });
  }
}

export default {
  fetch(request, env) {
    const [, kind, name] = new URL(request.url).pathname.split("/");
    if (kind === "room") return env.ROOM.get(env.ROOM.idFromName(name)).fetch(request);
    if (kind === "ws") return env.SHARD.get(env.SHARD.idFromName(name)).fetch(request);
    if (kind === "wsl") return env.LOCAL_SHARD.get(env.LOCAL_SHARD.idFromName(name)).fetch(request);
    return new Response("not found", { status: 404 });
  },
};
