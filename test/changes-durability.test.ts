/** Changes to messages are as durable as messages: they survive eviction and reach D1 after it. */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import type { Room } from "../src/room/Room";
import { call, createGroup, flush, partsOf, people, postAs, roomStubOf } from "./helpers";



const d1Row = (id: string) => env.DB.prepare("SELECT text, reactions, deleted_at, rev FROM messages WHERE id = ?").bind(id).first();

describe("changes to messages", () => {
  it("survive an eviction before the flush and reach D1 after it", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "first draft");
    await flush(room.id);
    await call("PATCH", `/api/rooms/${room.id}/messages/${m.id}`, a!, { text: "second draft" });
    await call("PUT", `/api/rooms/${room.id}/messages/${m.id}/reactions/${encodeURIComponent("👀")}`, b!);
    await evictDurableObject(roomStubOf(room.id));
    // The room comes back with the changes and still owes them to D1.
    const { messages } = (await (await call("GET", `/api/rooms/${room.id}/messages`, b!)).json()) as { messages: Message[] };
    expect(messages[0]).toMatchObject({ text: "second draft", reactions: { "👀": [b] } });
    expect(await d1Row(m.id)).toMatchObject({ text: "first draft", rev: 1 });
    await flush(room.id);
    expect(await d1Row(m.id)).toMatchObject({ text: "second draft", reactions: JSON.stringify({ "👀": [b] }), rev: 3 });
  });

  it("to a message the room no longer held survive an eviction too", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "old and private");
    await flush(room.id);
    await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.prune(0));
    await postAs(room.id, a!, "newer");
    expect((await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, a!)).status).toBe(200);
    await evictDurableObject(roomStubOf(room.id));
    await flush(room.id);
    expect(await d1Row(m.id)).toMatchObject({ text: "", deleted_at: expect.any(String), rev: 2 });
    // Once flushed, the adopted copy leaves the room again; history still shows the tombstone.
    await flush(room.id);
    const held = await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.byId(m.id));
    expect(held).toBeNull();
    const { messages } = (await (await call("GET", `/api/rooms/${room.id}/messages`, b!)).json()) as { messages: Message[] };
    expect(messages[0]).toMatchObject({ id: m.id, text: "", deletedAt: expect.any(String) });
  });

  it("never resurrect on a retried flush: the same flush twice leaves the newest revision", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "to be deleted");
    const stub = roomStubOf(room.id);
    const rows = await runInDurableObject(stub, (r: Room) => partsOf(r).store.dirty(100));
    await runInDurableObject(stub, (r: Room) => partsOf(r).archive.write(room.id, rows, []));
    await call("DELETE", `/api/rooms/${room.id}/messages/${m.id}`, a!);
    await flush(room.id);
    // The first flush's batch is retried (the platform retries a failed alarm) after the delete landed.
    await runInDurableObject(stub, (r: Room) => partsOf(r).archive.write(room.id, rows, []));
    expect(await d1Row(m.id)).toMatchObject({ text: "", deleted_at: expect.any(String), rev: 2 });
  });
});
