/**
 * Trending topics, against whichever store the project configures: the room's own SQLite
 * (limits-embedded) or Upstash in front of a real redis-server (limits-upstash). Every test
 * goes through `topicStoreFor` or the Room, so the same expectations hold for both.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import type { Topic } from "../../src/protocol";
import type { Room } from "../../src/room/Room";
import {
  BROADCAST_EVERY_MS,
  FLUSH_DELAY_MS,
  Tokenizer,
  roomTopicsFor,
  topicStoreFor,
  type Clock,
  type TopicStore,
} from "../../src/topics";
import { HALF_LIFE_MS } from "../../src/topics/decay";
import { redisFrom } from "../../src/limits/redis";
import { RedisTopicStore, topicsKey } from "../../src/topics/redis";
import { SqlTopicStore } from "../../src/topics/sql";
import { STOP_WORDS, stopWordsWith } from "../../src/topics/stop-words";
import { KEEP_TOPICS } from "../../src/topics/store";
import { MAX_LETTERS, MAX_WORDS_PER_MESSAGE } from "../../src/topics/words";
import { call, connect, expectError, partsOf, people, postAs, roomStubOf, sendAndAck, uniqueId, uniqueRoom } from "../helpers";

const backend = env.UPSTASH_REDIS_REST_URL ? "upstash" : "embedded";
const HOUR = HALF_LIFE_MS;
const T0 = Date.UTC(2026, 0, 1, 12);

/** Distinct words of letters only (digits would split them): "zetaaa", "zetaab", … */
const word = (i: number) => `zeta${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;

/** Runs `fn` with a fresh store of the project's backend, inside a new room's Durable Object. */
async function withStore<T>(fn: (store: TopicStore) => Promise<T>): Promise<T> {
  const roomId = await uniqueRoom("topics");
  return runInDurableObject(roomStubOf(roomId), (_: Room, state) => fn(topicStoreFor(env, state.storage.sql, roomId)));
}

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));
const words = (topics: Topic[]) => topics.map((t) => t.word);

async function topicsOf(roomId: string, user = "alice", query = "") {
  const res = await call("GET", `/api/rooms/${roomId}/topics${query}`, user);
  expect(res.status).toBe(200);
  return ((await res.json()) as { topics: Topic[] }).topics;
}

/**
 * A clock the test moves by hand, for decay and for the 10-s broadcast rule without waiting
 * for real. Its sleeps poll with short real timers, so moving it works from any context.
 */
class ManualClock implements Clock {
  constructor(public t: number) {}
  now = () => this.t;
  sleep = (ms: number) => {
    const until = this.t + ms;
    const giveUp = Date.now() + 30_000;
    return new Promise<void>((resolve) => {
      const check = () => (this.t >= until || Date.now() > giveUp ? resolve() : setTimeout(check, 5));
      check();
    });
  };
  advance(ms: number) {
    this.t += ms;
  }
}

async function withClock(roomId: string): Promise<ManualClock> {
  const clock = new ManualClock(Date.now());
  await runInDurableObject(roomStubOf(roomId), (room: Room) => {
    partsOf(room).topics.clock = clock;
  });
  return clock;
}

describe("topic words", () => {
  const t = new Tokenizer();

  it("lower-cases Unicode words, keeping accents and combining marks inside them", () => {
    expect(t.words("Café café CAFÉ")).toEqual(["café"]);
    // Decomposed (e + U+0301) and composed are the same word.
    expect(t.words("cafe\u0301 Café")).toEqual(["café"]);
    expect(t.words("Наука и НАУКА, Ελλάδα")).toEqual(["наука", "ελλάδα"]);
    // Devanagari vowel signs are marks: न म स त are the four letters of नमस्ते.
    expect(t.words("नमस्ते")).toEqual(["नमस्ते"]);
    expect(t.words("안녕하세요 여러분")).toEqual(["안녕하세요"]);
  });

  it("skips scripts written without spaces (Chinese, Japanese, Thai), which also separate words", () => {
    expect(t.words("日本語を勉強しています")).toEqual([]);
    expect(t.words("カタカナーテスト")).toEqual([]);
    expect(t.words("สวัสดีครับ")).toEqual([]);
    expect(t.words("Tokyo東京Osaka")).toEqual(["tokyo", "osaka"]);
  });

  it("keeps words of 4 to 32 letters, counted by code point, marks not counted", () => {
    expect(t.words("cat dog bird fish")).toEqual(["bird", "fish"]);
    // Four letters outside the BMP: eight UTF-16 units.
    expect(t.words("𝔡𝔢𝔭𝔩")).toEqual(["𝔡𝔢𝔭𝔩"]);
    // Three letters and a combining mark: four code points, still three letters.
    expect(t.words("abc\u0301")).toEqual([]);
    const longest = "k".repeat(MAX_LETTERS);
    expect(t.words(`${longest} ${longest}x`)).toEqual([longest]);
    // Five letters under 200 stacked accents: not a word anyone wrote.
    expect(t.words(`h${"\u0301".repeat(200)}ello`)).toEqual([]);
  });

  it("splits on everything that is not a letter", () => {
    expect(t.words("don't e-mail covid19 #deploy,rollout!")).toEqual(["mail", "covid", "deploy", "rollout"]);
  });

  it("counts a word once per message, and at most 20 words per message", () => {
    expect(t.words("kubernetes ".repeat(50))).toEqual(["kubernetes"]);
    const many = Array.from({ length: 30 }, (_, i) => word(i));
    expect(t.words(many.join(" "))).toEqual(many.slice(0, MAX_WORDS_PER_MESSAGE));
    // Repeats and stop words do not use up the 20.
    expect(t.words(`${many[0]} that ${many[0]} ${many.join(" ")}`)).toHaveLength(MAX_WORDS_PER_MESSAGE);
  });

  it("drops English stop words, and the ones a deployment adds", () => {
    expect(t.words("This is what they would have said about Kubernetes, just like that")).toEqual(["kubernetes"]);
    for (const w of ["that", "this", "with", "have", "from", "they", "will", "would", "there", "their", "what", "about"]) {
      expect(STOP_WORDS.has(w)).toBe(true);
    }
    const extra = new Tokenizer(stopWordsWith([" Kubernetes ", "ROLLOUT"]));
    expect(extra.words("kubernetes rollout tonight")).toEqual(["tonight"]);
    expect(t.words("kubernetes rollout tonight")).toEqual(["kubernetes", "rollout", "tonight"]);
  });

  it("reads the extra stop words from TOPIC_STOP_WORDS", () => {
    expect(readConfig({ ...env, TOPIC_STOP_WORDS: "Deploy, rollout ,," }).topicStopWords).toEqual(["Deploy", "rollout"]);
    expect(readConfig(env).topicStopWords).toEqual([]);
  });
});

describe(`topic scores (${backend})`, () => {
  it("uses the store the project configures", async () => {
    await withStore(async (store) => {
      expect(store).toBeInstanceOf(backend === "upstash" ? RedisTopicStore : SqlTopicStore);
    });
  });

  it("ranks words by mentions, adds up across writes, and honours the limit", async () => {
    await withStore(async (store) => {
      expect(await store.top(10, T0)).toEqual([]);
      await store.add(counts({ deploy: 3, rollout: 1, grafana: 2 }), T0);
      expect(await store.top(10, T0)).toEqual([
        { word: "deploy", score: 3 },
        { word: "grafana", score: 2 },
        { word: "rollout", score: 1 },
      ]);
      await store.add(counts({ rollout: 3 }), T0);
      expect(await store.top(10, T0)).toEqual([
        { word: "rollout", score: 4 },
        { word: "deploy", score: 3 },
        { word: "grafana", score: 2 },
      ]);
      expect(words(await store.top(2, T0))).toEqual(["rollout", "deploy"]);
    });
  });

  it("orders ties the same way in both stores: the later word first", async () => {
    await withStore(async (store) => {
      await store.add(counts({ apple: 1, cherry: 1, banana: 1 }), T0);
      expect(words(await store.top(10, T0))).toEqual(["cherry", "banana", "apple"]);
    });
  });

  it("gives back exactly the words stored, even ones that look like JSON", async () => {
    await withStore(async (store) => {
      await store.add(counts({ null: 4, true: 3, café: 2, наука: 1 }), T0);
      expect(await store.top(10, T0)).toEqual([
        { word: "null", score: 4 },
        { word: "true", score: 3 },
        { word: "café", score: 2 },
        { word: "наука", score: 1 },
      ]);
    });
  });

  it("keeps the best 50 words after every write", async () => {
    await withStore(async (store) => {
      // 60 words in one write, word i mentioned i + 1 times: the 10 least mentioned go.
      await store.add(new Map(Array.from({ length: 60 }, (_, i) => [word(i), i + 1])), T0);
      const top = await store.top(100, T0);
      expect(top).toHaveLength(KEEP_TOPICS);
      expect(words(top)).toEqual(Array.from({ length: 50 }, (_, i) => word(59 - i)));
      // A later write of new words with fewer mentions than any kept word: they do not stay.
      await store.add(counts({ newcomer: 1 }), T0);
      const after = await store.top(100, T0);
      expect(after).toHaveLength(KEEP_TOPICS);
      expect(words(after)).not.toContain("newcomer");
    });
  });

  it("halves a score every hour", async () => {
    await withStore(async (store) => {
      await store.add(counts({ incident: 1 }), T0);
      expect(await store.top(1, T0)).toEqual([{ word: "incident", score: 1 }]);
      expect(await store.top(1, T0 + HOUR / 2)).toEqual([{ word: "incident", score: 0.707 }]);
      expect(await store.top(1, T0 + HOUR)).toEqual([{ word: "incident", score: 0.5 }]);
      expect(await store.top(1, T0 + 2 * HOUR)).toEqual([{ word: "incident", score: 0.25 }]);
      // A mention an hour later counts fully; the earlier one has halved.
      await store.add(counts({ incident: 1 }), T0 + HOUR);
      expect(await store.top(1, T0 + HOUR)).toEqual([{ word: "incident", score: 1.5 }]);
    });
  });

  it("lets a newer mention outrank an older word with more mentions, once enough time has passed", async () => {
    await withStore(async (store) => {
      await store.add(counts({ older: 3 }), T0);
      await store.add(counts({ newer: 1 }), T0 + HOUR);
      // An hour on, three mentions halved (1.5) still beat one fresh mention.
      expect(await store.top(10, T0 + HOUR)).toEqual([
        { word: "older", score: 1.5 },
        { word: "newer", score: 1 },
      ]);
      // Two hours on (0.75 against 0.5), and then a fresh mention: the newer word leads.
      await store.add(counts({ newer: 1 }), T0 + 2 * HOUR);
      expect(await store.top(10, T0 + 2 * HOUR)).toEqual([
        { word: "newer", score: 1.5 },
        { word: "older", score: 0.75 },
      ]);
      // Nothing is reset: with no new mentions, both keep halving in step.
      expect(await store.top(10, T0 + 4 * HOUR)).toEqual([
        { word: "newer", score: 0.375 },
        { word: "older", score: 0.188 },
      ]);
    });
  });

  it("keeps scores right across the rescale after 24 hours, and forgets what decayed to nothing", async () => {
    await withStore(async (store) => {
      await store.add(counts({ enormous: 2 ** 20, faded: 1 }), T0);
      // 25 hours later the next write rescales: 2^20 × 2^−25 = 1/32; one mention 25 h old is gone.
      await store.add(counts({ fresh: 1 }), T0 + 25 * HOUR);
      expect(await store.top(10, T0 + 25 * HOUR)).toEqual([
        { word: "fresh", score: 1 },
        { word: "enormous", score: 0.031 },
      ]);
      expect(await store.top(10, T0 + 26 * HOUR)).toEqual([
        { word: "fresh", score: 0.5 },
        { word: "enormous", score: 0.016 },
      ]);
      // And again a day later, from the moved epoch.
      await store.add(counts({ fresh: 1 }), T0 + 50 * HOUR);
      expect(await store.top(10, T0 + 50 * HOUR)).toEqual([{ word: "fresh", score: 1 }]);
      expect(await store.top(10, T0 + 51 * HOUR)).toEqual([{ word: "fresh", score: 0.5 }]);
    });
  });

  it("never overflows, however long a room lives", async () => {
    await withStore(async (store) => {
      // 80 days of a word every 23 hours: without moving the epoch its weight would reach
      // 2^1900, past what a double holds, and every score would read as Infinity / Infinity.
      let now = T0;
      for (; now < T0 + 80 * 24 * HOUR; now += 23 * HOUR) await store.add(counts({ daily: 1 }), now);
      await store.add(counts({ daily: 1, latest: 1 }), now);
      // The earlier mentions of "daily" add 2^−23 + 2^−46 + …: nothing visible.
      expect(await store.top(10, now)).toEqual([
        { word: "latest", score: 1 },
        { word: "daily", score: 1 },
      ]);
    });
  });
});

describe(`topics of a room (${backend})`, () => {
  it("GET /api/rooms/:roomId/topics: the words of stored messages, to members only", async () => {
    const room = await uniqueRoom("topics");
    await postAs(room, "alice", "Kubernetes rollout tonight, kubernetes!");
    await postAs(room, "bob", "Is the kubernetes upgrade done?");
    // Read-your-writes: a message is counted as soon as its sender has the answer.
    expect(await topicsOf(room, "carol")).toEqual([
      { word: "kubernetes", score: 2 },
      { word: "upgrade", score: 1 },
      { word: "tonight", score: 1 },
      { word: "rollout", score: 1 },
    ]);
    // Kept where the project says: in Redis with Upstash configured, else in the room.
    if (backend === "upstash") {
      expect(await redisFrom(env)!.zcard(topicsKey(room))).toBe(4);
    } else {
      const rows = await runInDurableObject(roomStubOf(room), (_: Room, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM topics").one(),
      );
      expect(rows.n).toBe(4);
    }
    const [stranger] = await people("stranger");
    await expectError(await call("GET", `/api/rooms/${room}/topics`, stranger!), 403, "forbidden");
    await expectError(await call("GET", `/api/rooms/${uniqueId("nowhere")}/topics`, "alice"), 404, "not_found");
    await expectError(await call("GET", `/api/rooms/${room}/topics`, null), 401, "unauthorized");
  });

  it("returns 10 topics by default, 1..50 on request, and refuses any other limit", async () => {
    const room = await uniqueRoom("topics");
    // 60 distinct words in three messages of 20.
    for (let m = 0; m < 3; m++) {
      await postAs(room, "alice", Array.from({ length: 20 }, (_, i) => word(m * 20 + i)).join(" "));
    }
    expect(await topicsOf(room)).toHaveLength(10);
    expect(await topicsOf(room, "alice", "?limit=1")).toHaveLength(1);
    expect(await topicsOf(room, "alice", "?limit=50")).toHaveLength(50);
    for (const limit of ["0", "51", "-1", "1.5", "ten", ""]) {
      await expectError(await call("GET", `/api/rooms/${room}/topics?limit=${limit}`, "alice"), 400, "bad_request");
    }
  });

  it("scores only new messages: edits, deletes and resends change nothing", async () => {
    const room = await uniqueRoom("topics");
    const { socket } = await connect(room, "alice");
    const ack = await sendAndAck(socket, "deploy friday", "same-client-id");
    // A resend of the same clientId gets the same ack and stores (and counts) nothing.
    expect(await sendAndAck(socket, "deploy friday", "same-client-id")).toEqual(ack);
    socket.send({ type: "edit", id: ack.id, text: "postgres migration" });
    await socket.next("updated");
    expect(await topicsOf(room)).toEqual([
      { word: "friday", score: 1 },
      { word: "deploy", score: 1 },
    ]);
    socket.send({ type: "delete", id: ack.id });
    await socket.next("updated", (f) => f.message.deletedAt !== null);
    expect(await topicsOf(room)).toEqual([
      { word: "friday", score: 1 },
      { word: "deploy", score: 1 },
    ]);
    socket.close();
  });

  it("sends the top 10 to every socket when it changes", async () => {
    const room = await uniqueRoom("topics");
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    await sendAndAck(alice, Array.from({ length: 12 }, (_, i) => word(i)).join(" "));
    const frame = await bob.next("topics");
    // Twelve words mentioned once: the top 10 (ties: the later word first).
    expect(frame.topics).toEqual(Array.from({ length: 10 }, (_, i) => ({ word: word(11 - i), score: 1 })));
    expect((await alice.next("topics")).topics).toEqual(frame.topics);
    alice.close();
    bob.close();
  });

  it("sends a change at most every 10 s, and a later change when it is due", async () => {
    const room = await uniqueRoom("topics");
    const clock = await withClock(room);
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");

    await sendAndAck(alice, "kubernetes rollout");
    await sendAndAck(alice, "kubernetes again");
    clock.advance(FLUSH_DELAY_MS);
    expect(words((await bob.next("topics")).topics)).toEqual(["kubernetes", "rollout"]);

    // A second later the top 10 changes: not sent yet. (Newer mentions weigh a little more:
    // "grafana" now leads "kubernetes" at two mentions each, and "rollout" comes last.)
    clock.advance(1000);
    await sendAndAck(alice, "grafana grafana dashboards");
    await sendAndAck(alice, "grafana alerts");
    clock.advance(FLUSH_DELAY_MS);
    const changed = ["grafana", "kubernetes", "dashboards", "alerts", "rollout"];
    expect(words(await topicsOf(room))).toEqual(changed);
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.all("topics")).toHaveLength(1);

    // When the 10 s are up it goes out, as the top 10 is by then.
    clock.advance(BROADCAST_EVERY_MS);
    expect(words((await bob.next("topics")).topics)).toEqual(changed);

    // A write that leaves the words and their order as they are sends nothing.
    clock.advance(BROADCAST_EVERY_MS);
    await sendAndAck(alice, "grafana once more");
    clock.advance(FLUSH_DELAY_MS);
    const now = await topicsOf(room);
    expect(words(now)).toEqual(changed);
    // Three mentions, two of them ten seconds old.
    expect(now[0]!.score).toBeCloseTo(3, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.all("topics")).toHaveLength(2);
    alice.close();
    bob.close();
  });

  it("decays a room's topics with time, without a reset", async () => {
    const room = await uniqueRoom("topics");
    const clock = await withClock(room);
    await postAs(room, "alice", "observability budget");
    await postAs(room, "bob", "observability dashboards");
    clock.advance(HOUR);
    expect(await topicsOf(room)).toEqual([
      { word: "observability", score: 1 },
      { word: "dashboards", score: 0.5 },
      { word: "budget", score: 0.5 },
    ]);
    await postAs(room, "carol", "latency budget");
    clock.advance(HOUR);
    expect(await topicsOf(room)).toEqual([
      { word: "budget", score: 0.75 },
      { word: "observability", score: 0.5 },
      { word: "latency", score: 0.5 },
      { word: "dashboards", score: 0.25 },
    ]);
  });

  it("takes the extra stop words of TOPIC_STOP_WORDS", async () => {
    const room = await uniqueRoom("topics");
    const top = await runInDurableObject(roomStubOf(room), async (_: Room, state) => {
      const withSetting = { ...env, TOPIC_STOP_WORDS: "Kubernetes,rollout" };
      const topics = roomTopicsFor(state, withSetting, readConfig(withSetting), () => {});
      topics.noted(room, "Kubernetes rollout tonight");
      return topics.top(room, 10);
    });
    expect(top).toEqual([{ word: "tonight", score: 1 }]);
  });
});
