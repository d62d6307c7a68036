/** The notify section of the report (lib/scenario-notify.mjs): its table, notes and goal lines. */

const num = (v, digits = 2) => (v === null || v === undefined ? "–" : String(Math.round(v * 10 ** digits) / 10 ** digits));
const ratioOf = (r) => (r === null || r === undefined ? "–" : `×${num(r)}`);

function describe(e, c) {
  switch (e.variant) {
    case "none":
      return "**none**: no user socket open";
    case "some":
      return `**some**: ${e.userSockets} members with a user socket open`;
    case "all":
      return `**all**: every member (${e.userSockets}) with a user socket open`;
    case "mentions":
      return `**mentions**: no user socket open; every ${c.mentionEvery}th message @mentions a member`;
    default:
      return e.variant;
  }
}

/** The issue's claims, checked: (a) costs no notification row and no user-object call; reports are coalesced. */
export function notifyGoalLines(results) {
  const N = results.notify;
  if (!N) return [];
  if (N.error && !N.entries.some((e) => e.usedRounds)) return [`notifications on the send path: not measured (${N.error.slice(0, 200)})`];
  const of = (v) => N.entries.find((e) => e.variant === v && e.usedRounds > 0);
  const lines = [];
  const none = of("none");
  if (none) {
    const met = none.notificationRowsPerMessage === 0 && none.userCallsPerMessage === 0;
    lines.push(
      `a message in a ${N.members}-member group with no user socket open writes no notification row and calls no user object: ` +
        `${num(none.notificationRowsPerMessage, 3)} rows and ${num(none.userCallsPerMessage, 3)} calls per message → ${met ? "met" : "not met"}.`,
    );
  }
  const rows = N.entries.filter((e) => e.usedRounds > 0).map((e) => ({ v: e.variant, r: e.notificationRowsPerMessage + e.messageRowsPerMessage }));
  if (rows.length) {
    const worst = Math.max(...rows.map((x) => x.r));
    // The message's own row, and a notification row only for someone the message notifies.
    lines.push(
      `no write per member: at most 2 D1 rows per message (message rows + notification rows) in a ${N.members}-member group: ` +
        `${rows.map((x) => `${x.v} ${num(x.r, 3)}`).join(", ")} → ${worst <= 2 ? "met" : "not met"}.`,
    );
  }
  const coalesced = ["some", "all"].map(of).filter(Boolean);
  if (coalesced.length) {
    lines.push(
      "unread counts coalesced: user-object calls per message " +
        coalesced.map((e) => `${e.variant} ${num(e.userCallsPerMessage)} for ${e.watchers} watchers (×${num(e.watchers / Math.max(e.userCallsPerMessage, 1e-9), 1)} fewer than one per watcher per message)`).join(", ") +
        ".",
    );
  }
  return lines;
}

export function notifySection(results) {
  const N = results.notify;
  const c = results.meta.config.notify;
  const out = ["## Notifications on the send path", ""];
  out.push(
    `One group of ${N.members} members per variant, created through the API (the "added" notifications written before anything is measured), ` +
      `one sender at ${c.rate} msg/s for ${c.stepMs / 1000} s, ${c.receivers} receiving room sockets; the variants take turns, ` +
      `${c.rounds} round${c.rounds === 1 ? "" : "s"} (the first variant rotating). A turn's window runs from the first send until D1 has the ` +
      "room's messages and the expected notifications and workerd is quiet, so the flush, the event outbox, the queue consumer and the unread " +
      "reports (500 ms later) all count. Per message: **CPU**, workerd's (every Worker, Durable Object, D1 and the queue in it), median of the " +
      "rounds with every round in brackets, and its ratio to none; **D1 rows** written, counted in D1 before and after (the room's message " +
      "rows; notification rows); **user-object calls**, the `unread` frames the open user sockets received (one device per user: a frame is " +
      "a call); the sender's **ack** p50 / p99 (acks of the used rounds pooled) and the receivers' p99 (median).",
  );
  out.push("");
  if (N.error) out.push(`Error: ${N.error.slice(0, 300)}`, "");
  out.push("| variant | CPU ms / message | × none | message rows / message | notification rows / message | user-object calls / message | ack p50 / p99 ms | receive p99 ms |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|");
  const notes = [];
  for (const e of N.entries) {
    const rounds = e.rounds.map((x) => (x.complete && (x.valid || e.noisy) ? num(x.cpuPerMessageMs) : "✗")).join(", ");
    const calls = e.watchers ? `${num(e.userCallsPerMessage)} (${e.watchers} watchers)` : num(e.userCallsPerMessage);
    out.push(
      `| ${describe(e, c)} | ${num(e.cpuMedian)}${e.noisy ? "*" : ""} (${rounds}) | ${ratioOf(e.cpuRatio)} | ${num(e.messageRowsPerMessage, 3)} | ` +
        `${num(e.notificationRowsPerMessage, 3)} | ${calls} | ${num(e.ack?.p50)} / ${num(e.ack?.p99)} | ${num(e.p99)} |`,
    );
    if (e.noisy) notes.push(`${e.variant}: every round discarded as the box was busy; * = figures from those rounds, indicative only`);
    else if (e.usedRounds < e.rounds.length) notes.push(`${e.variant}: ${e.rounds.length - e.usedRounds} of ${e.rounds.length} rounds not used (busy box or incomplete)`);
    const stray = e.rounds.reduce((a, x) => a + x.otherUnreadFrames + x.emailRows, 0);
    if (stray) notes.push(`${e.variant}: ${stray} unread frames from other rooms or outbox emails during its turns (none expected)`);
  }
  out.push("");
  notes.push(
    "Here every object runs on workerd's one thread: while the user objects take a report's calls, the room's acks wait too. Deployed, user " +
      "objects run elsewhere and the room pays only for making the calls.",
  );
  notes.push(
    "Expected: **none** writes ~0 notification rows per message and calls no user object (nobody to notify, no webhook: no event leaves the room); " +
      "the message rows (1 per message) are the flush, the same in every variant. Not counted: the flush's per-flush updates (the room's row, the sender's read position).",
  );
  out.push(...notes.map((n) => `- ${n}`), "");
  return out;
}
