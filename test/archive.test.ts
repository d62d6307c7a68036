import { describe, expect, it } from "vitest";
import { call, createGroup, expectError, flush, people, type RoomView } from "./helpers";

async function listIds(user: string, query = ""): Promise<string[]> {
  const res = await call("GET", `/api/rooms${query}`, user);
  expect(res.status).toBe(200);
  return ((await res.json()) as { rooms: RoomView[] }).rooms.map((r) => r.id);
}

describe("archiving a room", () => {
  it("takes it out of the caller's list alone, until a new message arrives", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "c1", text: "before" });
    await flush(room.id);
    expect((await call("PUT", `/api/rooms/${room.id}/archive`, b!)).status).toBe(204);
    expect(await listIds(b!)).not.toContain(room.id);
    expect(await listIds(b!, "?archived=true")).toEqual([room.id]);
    expect(await listIds(a!)).toContain(room.id);
    // Archiving twice is the same as once.
    expect((await call("PUT", `/api/rooms/${room.id}/archive`, b!)).status).toBe(204);

    await new Promise((r) => setTimeout(r, 5)); // a message strictly newer than the archiving
    await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "c2", text: "news" });
    await flush(room.id);
    expect(await listIds(b!)).toContain(room.id);
    expect(await listIds(b!, "?archived=true")).not.toContain(room.id);
  });

  it("is undone by DELETE", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    await call("PUT", `/api/rooms/${room.id}/archive`, b!);
    expect(await listIds(b!)).not.toContain(room.id);
    expect((await call("DELETE", `/api/rooms/${room.id}/archive`, b!)).status).toBe(204);
    expect(await listIds(b!)).toContain(room.id);
  });

  it("is refused to non-members and for rooms that do not exist", async () => {
    const [a, b, outsider] = await people("a", "b", "outsider");
    const room = await createGroup(a!, [b!]);
    await expectError(await call("PUT", `/api/rooms/${room.id}/archive`, outsider!), 403, "forbidden");
    await expectError(await call("DELETE", `/api/rooms/${room.id}/archive`, outsider!), 403, "forbidden");
    await expectError(await call("PUT", `/api/rooms/no-such-room-${a}/archive`, a!), 404, "not_found");
    await expectError(await call("GET", `/api/rooms?archived=maybe`, a!), 400, "bad_request");
  });
});
