/**
 * A randomized check of src/room/outbox.ts outside workerd (npx tsx bench/outbox-check.ts):
 * fake sockets and a fake clock, thousands of random sequences of broadcasts (with and without
 * exceptions), direct frames, joins, leaves, explicit flushes and time passing. It checks what
 * the outbox promises whatever its coalescing policy does:
 *   - every socket gets exactly the frames meant for it, in the order they were queued, and
 *     no send carries nothing (an empty batch would cost a send per socket for nothing);
 *   - a frame queued in a room that has been quiet for longer than its window leaves with no
 *     delay (the timer is set for 0 ms), so a quiet room never waits;
 *   - nothing is held longer than the window's cap.
 */
import assert from "node:assert/strict";

// ---- A fake clock, installed before the outbox is loaded ---------------------------------------
let now = 1_000_000;
type Timer = { at: number; fn: () => void; id: number; delay: number };
let timers: Timer[] = [];
let nextId = 1;
const delays: number[] = [];
(globalThis as any).setTimeout = (fn: () => void, ms = 0) => {
  const t = { at: now + Math.max(0, ms), fn, id: nextId++, delay: ms };
  delays.push(ms);
  timers.push(t);
  return t.id;
};
(globalThis as any).clearTimeout = (id: number) => {
  timers = timers.filter((t) => t.id !== id);
};
Date.now = () => now;
function advance(ms: number) {
  const until = now + ms;
  for (;;) {
    timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const t = timers[0];
    if (!t || t.at > until) break;
    timers.shift();
    now = Math.max(now, t.at);
    t.fn();
  }
  now = until;
}

const { Outbox, MAX_WINDOW_MS = 40, MAX_BATCH_FRAMES = Infinity } = await import(process.env.OUTBOX ?? "../src/room/outbox.ts");

class FakeSocket {
  received: string[] = [];
  /** Problems seen in send() (the outbox swallows what send throws, as it must for closed sockets). */
  problems: string[] = [];
  constructor(readonly name: string) {}
  send(payload: string) {
    const frame = JSON.parse(payload);
    const frames = frame.type === "batch" ? frame.frames : [frame];
    if (frames.length === 0) this.problems.push("an empty batch");
    if (frame.type === "batch" && frames.length === 1) this.problems.push("a batch of one");
    if (frames.length > MAX_BATCH_FRAMES) this.problems.push(`a batch of ${frames.length} frames`);
    for (const f of frames) this.received.push(f.id);
  }
}

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

let checks = 0;
const SEQUENCES = Number(process.argv[2] ?? 1500);
for (let seed = 1; seed <= SEQUENCES; seed++) {
  const rand = rng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const size = pick([1, 2, 5, 30, 120, 700, 2000]);
  let room: FakeSocket[] = Array.from({ length: size }, (_, i) => new FakeSocket(`s${i}`));
  const everyone = new Set(room);
  const expected = new Map<FakeSocket, string[]>(room.map((s) => [s, []]));
  const outbox = new Outbox({ sockets: () => room as unknown as WebSocket[] });
  timers = [];
  let frameNo = 0;
  // Frames are due to the sockets in the room when they leave; track membership per frame.
  const queued: { id: string; to: FakeSocket | null; except?: (ws: FakeSocket) => boolean }[] = [];
  let lastFlush = -Infinity;
  const deliver = () => {
    if (queued.length > 0) lastFlush = now;
    for (const q of queued.splice(0)) {
      if (q.to) expected.get(q.to)!.push(q.id);
      else for (const s of room) if (!q.except?.(s)) expected.get(s)!.push(q.id);
    }
  };
  for (let step = 0; step < 60; step++) {
    const r = rand();
    if (r < 0.45) {
      const id = `f${++frameNo}`;
      const excluded = rand() < 0.2 ? pick(room) : null;
      const except = excluded ? (ws: FakeSocket) => ws === excluded : undefined;
      const quiet = timers.length === 0 && now - lastFlush > MAX_WINDOW_MS;
      const before = delays.length;
      outbox.broadcast({ type: "read", userId: id, seq: 1, id } as any, except as any);
      queued.push({ id, to: null, except });
      if (quiet) assert.equal(delays[before], 0, `seed ${seed}: a frame in a quiet room waited ${delays[before]} ms`);
    } else if (r < 0.5 && room.length <= 150) {
      // A flood within one turn: more frames than one batch may carry.
      for (let i = 0; i < 450; i++) {
        const id = `F${++frameNo}`;
        outbox.broadcast({ type: "read", userId: id, seq: 1, id } as any);
        queued.push({ id, to: null });
        if (queued.length >= MAX_BATCH_FRAMES) deliver();
      }
    } else if (r < 0.6) {
      const id = `d${++frameNo}`;
      const to = rand() < 0.9 ? pick(room) : pick([...everyone]);
      outbox.sendTo(to as unknown as WebSocket, { type: "read", userId: id, seq: 1, id } as any);
      queued.push({ id, to });
    } else if (r < 0.68) {
      // Join: the room flushes what is queued before a socket joins (as Room.fetch does).
      outbox.flush();
      deliver();
      const s = new FakeSocket(`j${frameNo}`);
      everyone.add(s);
      expected.set(s, []);
      room = [...room, s];
    } else if (r < 0.74 && room.length > 1) {
      // Leave: frames still queued are no longer due to it.
      const s = pick(room);
      room = room.filter((x) => x !== s);
      for (const q of queued) if (q.to === null) {
        const prev = q.except;
        q.except = (ws) => ws === s || !!prev?.(ws);
      }
    } else if (r < 0.8) {
      outbox.flush();
      deliver();
    } else {
      // Time passes: timers fire, frames leave.
      const ms = pick([0, 1, 3, 10, 40, 200]);
      const hadTimers = timers.length > 0;
      advance(ms);
      if (hadTimers && timers.length === 0) deliver();
    }
  }
  advance(MAX_WINDOW_MS + 1);
  assert.equal(timers.length, 0, `seed ${seed}: a timer outlived the window cap`);
  deliver();
  for (const s of everyone) {
    assert.deepEqual(s.problems, [], `seed ${seed}: socket ${s.name} was sent ${s.problems[0]}`);
    assert.deepEqual(s.received, expected.get(s), `seed ${seed}: socket ${s.name} got the wrong frames or order`);
    checks++;
  }
}
console.log(`outbox check: ok (${checks} sockets over ${SEQUENCES} random sequences)`);
