/**
 * What a message in a big group costs beyond its delivery (issue 11): the room's event outbox
 * (dispatched on the flush alarm, skipped when nobody is notified and no webhook subscribes),
 * the unread reports to members with a user socket open (coalesced, src/room/unread.ts), and
 * the events consumer, which runs in the same workerd. One group of `members` per variant
 * (lib/notify-setup.mjs), one sender at a fixed rate, a few receiving room sockets:
 *
 *   none      no member has a user socket open: no unread report, no event leaves the room
 *   some      `someSockets` members have one
 *   all       every member has one
 *   mentions  as none, but every `mentionEvery`-th message @mentions a member (a notification)
 *
 * The variants take turns round by round (as in the CPU section). Each turn's window runs from
 * the first send until the room's messages are in D1, the expected notifications are written and
 * workerd has gone quiet, so the flush, the queue, the consumer and the reports 500 ms later all
 * count. Figures per message: workerd CPU, D1 rows written (the room's message rows and the
 * notification rows, counted in D1 before and after), user-object calls (the `unread` frames the
 * open user sockets received: one per call, one device per user), and the sender's ack p50/p99.
 */
import { merge, summary } from "./gen.mjs";
import { createRoom, notifyPlan, openUserSockets, tokensFor } from "./notify-setup.mjs";
import { cpuSeconds, openFiles } from "./procstat.mjs";
import { attempt, interleave, median } from "./scenarios.mjs";
import { Session } from "./session.mjs";
import { oursTarget } from "./targets.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How long D1 may take to show what a step wrote: the flush alarm (2 s), the queue's batch wait (1 s), the consumer. */
const DRAIN_MS = 30_000;

async function d1Counts(seedBase, roomId) {
  const res = await fetch(`${seedBase}/__bench/d1-counts?room=${encodeURIComponent(roomId)}`, { method: "POST" });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`d1-counts: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

/** Polls D1 until the room has `messages` rows and there are `notifications` rows in all (or the deadline). */
async function drained(seedBase, roomId, want, maxMs = DRAIN_MS) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const now = await d1Counts(seedBase, roomId);
    const done = now.messages >= want.messages && now.notifications >= want.notifications;
    if (done || Date.now() > deadline) return { ...now, done };
    await sleep(500);
  }
}

/** Long enough for workerd to evict the objects setting up woke (it does after about 10 s idle). */
const EVICT_MS = 15_000;

/**
 * Each socket's connect (the user sockets, the rooms' senders and receivers) was counted by a
 * Limiter object of its own (RATE_CONNECTIONS, a 1-minute window in the bench), which deletes
 * its storage by an alarm two windows and a second after: a thousand of them firing together
 * cost seconds of CPU, and must not land in one variant's turn. Measuring starts after that
 * (and after the objects are evicted again).
 */
const LIMITERS_IDLE_MS = 2 * 60_000 + 1000 + EVICT_MS;

/** The messages of a step with `count` sends that @mention someone (k = 0, every, 2·every, …). */
const mentionsIn = (count, mention) => (mention ? Math.ceil(count / mention.every) : 0);

export async function notify(ctx) {
  const c = ctx.cfg.notify;
  const plan = notifyPlan(c);
  const out = { members: c.members, rooms: {}, entries: [] };
  try {
    await measure(ctx, c, plan, out);
  } catch (err) {
    out.error = String(err?.message ?? err);
    ctx.log(`  notify: ERROR ${out.error}`);
  }
  for (const e of out.entries) summarize(e);
  const none = out.entries.find((e) => e.variant === "none");
  for (const e of out.entries) e.cpuRatio = none?.cpuMedian && e.cpuMedian !== null ? Math.round((e.cpuMedian / none.cpuMedian) * 100) / 100 : null;
  return out;
}

async function measure(ctx, c, plan, out) {
  const w = ctx.servers.workerd;
  const base = w.urls.ours;
  const seedBase = w.urls.seed;

  const t0 = Date.now();
  const tokens = await tokensFor(base, plan.users);
  const start = await d1Counts(seedBase, "");
  // Every member but the creator is told they were added: a notification each, through the queue.
  const expected = { notifications: start.notifications };
  const roomIds = {};
  for (const v of c.variants) {
    roomIds[v] = await createRoom(base, tokens, plan.rooms[v]);
    expected.notifications += c.members - 1;
    ctx.progressNote(`notify: room ${v} created with ${c.members} members`);
  }
  const added = await drained(seedBase, "", { messages: 0, notifications: expected.notifications }, 600_000);
  if (!added.done) throw new Error(`only ${added.notifications - start.notifications} of ${expected.notifications - start.notifications} "added" notifications were written`);
  out.setupS = Math.round((Date.now() - t0) / 1000);
  ctx.log(`  notify: ${c.variants.length} rooms of ${c.members} members and their "added" notifications in ${out.setupS} s`);
  // Setting up woke a User object (and Limiter objects) for thousands of users, each holding its
  // SQLite files open: with the user sockets' objects on top, workerd ran out of file descriptors
  // (20,000 here; SQLite then reports SQLITE_NOMEM). Idle objects are evicted after about 10 s.
  const files = openFiles(w.workerdPid);
  await sleep(EVICT_MS);
  ctx.log(`  notify: workerd's open files ${files} → ${openFiles(w.workerdPid)} after ${EVICT_MS / 1000} s idle`);
  const sockets = await openUserSockets(base, tokens, plan.socketUsers);
  ctx.log(`  notify: ${plan.socketUsers.length} user sockets open`);

  /** Messages in each room's D1 once everything sent so far is flushed. */
  const flushedWant = {};
  const mark = (v, r, mention) => {
    flushedWant[v] += r.count * (r.attempt ?? 1);
    expected.notifications += mentionsIn(r.count, mention) * (r.attempt ?? 1);
  };
  try {
    await interleave(ctx, "notify", c.variants, c.rounds, {
      rotate: true,
      async ready() {
        ctx.log(`  notify: ${LIMITERS_IDLE_MS / 1000} s until the connections' limiters have cleaned up`);
        await sleep(LIMITERS_IDLE_MS);
      },
      async open(v) {
        const room = { ...plan.rooms[v], id: roomIds[v] };
        flushedWant[v] = (await d1Counts(seedBase, room.id)).messages;
        const mention = v === "mentions" ? { every: c.mentionEvery, ids: room.others } : null;
        const target = {
          ...oursTarget(base, w),
          users: async (prefix) => (prefix === "s" ? [room.sender] : room.receivers).map((id) => tokens.get(id)),
          prepareRoom: async () => room.id,
        };
        const session = await Session.warm(target, "notify", 1, c.receivers, c.rate, ctx.cfg.warmupMs, async (s) => {
          mark(v, await s.step(c.rate, ctx.cfg.warmupMs, { mention }), mention);
          const d = await drained(seedBase, room.id, { messages: flushedWant[v], notifications: expected.notifications });
          if (!d.done) throw new Error(`warm-up of ${v}: D1 has ${d.messages} of ${flushedWant[v]} messages, ${d.notifications} of ${expected.notifications} notifications`);
        });
        // Watchers other than the sender: an unread report per message each, were reports not coalesced.
        const watchers = room.sockets.filter((id) => id !== room.sender).length;
        const entry = { variant: v, roomId: room.id, members: c.members, userSockets: room.sockets.length, watchers, rate: c.rate, mention, rounds: [] };
        out.rooms[v] = room.id;
        out.entries.push(entry);
        return { session, entry, room, mention };
      },
      async turn({ session, entry, room, mention }, v, round) {
        const before = await d1Counts(seedBase, room.id);
        await sockets.call("arm");
        const cpu0 = cpuSeconds(w.pids);
        const r = await attempt(ctx, session, c.rate, c.stepMs, `notify ${v} round ${round}`, { keepAck: true, mention });
        mark(v, r, mention);
        const d = await drained(seedBase, room.id, { messages: flushedWant[v], notifications: expected.notifications });
        // Not quiet within its 15 s: work of this turn would fall outside the window.
        const settled = await session.settle();
        const cpu = cpuSeconds(w.pids) - cpu0;
        const after = await d1Counts(seedBase, room.id);
        const frames = await sockets.call("counts");
        const messages = r.count * r.attempt;
        entry.rounds.push({
          round,
          valid: r.valid,
          complete: r.complete && d.done && settled && frames.closed === 0,
          messages,
          mentions: mentionsIn(r.count, mention) * r.attempt,
          cpuMs: Math.round(cpu * 1000),
          cpuPerMessageMs: Math.round((cpu / messages) * 1e4) / 10,
          messageRows: after.messages - before.messages,
          notificationRows: after.notifications - before.notifications,
          emailRows: after.emails - before.emails,
          unreadFrames: frames.unreadByRoom[room.id] ?? 0,
          otherUnreadFrames: frames.unread - (frames.unreadByRoom[room.id] ?? 0),
          notificationFrames: frames.notifications,
          userSocketsClosed: frames.closed,
          ack: { p50: r.ack.p50, p99: r.ack.p99 },
          p99: r.latency.p99,
          ackHistogram: r.ackHistogram,
        });
        const x = entry.rounds.at(-1);
        ctx.log(
          `  notify ${v} round ${round}: ${x.cpuPerMessageMs} ms CPU/message, ${x.notificationRows} notification rows, ` +
            `${x.messageRows}/${messages} messages in D1, ${x.unreadFrames} unread calls, ack p99 ${x.ack.p99} ms${x.complete ? "" : " (incomplete)"}`,
        );
      },
      failed: (error) => out.entries.forEach((e) => (e.error = error)),
    });
  } finally {
    await sockets.call("closeAll").catch(() => {});
    await sockets.stop();
  }
}

/**
 * Medians of the valid, complete rounds for CPU; sums over them for the per-message counts (a
 * count is exact, not noisy); the ack histograms pooled. When the box was busy through every
 * round, the complete rounds stand in and the figures are marked `noisy`.
 */
function summarize(e) {
  const valid = e.rounds.filter((x) => x.valid && x.complete);
  const use = valid.length ? valid : e.rounds.filter((x) => x.complete);
  e.noisy = valid.length === 0 && use.length > 0;
  e.usedRounds = use.length;
  const messages = use.reduce((a, x) => a + x.messages, 0);
  const per = (k) => (messages ? Math.round((use.reduce((a, x) => a + x[k], 0) / messages) * 1000) / 1000 : null);
  e.cpuMedian = median(use.map((x) => x.cpuPerMessageMs));
  e.messageRowsPerMessage = per("messageRows");
  e.notificationRowsPerMessage = per("notificationRows");
  e.emailRowsPerMessage = per("emailRows");
  e.userCallsPerMessage = per("unreadFrames");
  e.ack = use.length ? summary(merge(use.map((x) => x.ackHistogram))) : null;
  e.p99 = median(use.map((x) => x.p99).filter((v) => v !== null));
  for (const x of e.rounds) delete x.ackHistogram;
}
