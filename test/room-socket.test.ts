import { describe, expect, it } from "vitest";
import { connect, newClientId, sendAndAck, uniqueRoom } from "./helpers";

describe("the room socket", () => {
  it("welcomes a new socket with the room, the user, lastSeq, who is online and recent messages", async () => {
    const room = uniqueRoom();
    const { socket: alice, welcome } = await connect(room, "alice", "Alice");
    expect(welcome).toMatchObject({
      type: "welcome",
      room: { id: room },
      you: { id: "alice", name: "Alice", kind: "member" },
      lastSeq: 0,
      online: [{ id: "alice", name: "Alice", status: "online" }],
      recent: [],
    });
    await sendAndAck(alice, "first");
    const { welcome: second } = await connect(room, "bob");
    expect(second.lastSeq).toBe(1);
    expect(second.recent.map((m) => m.text)).toEqual(["first"]);
    expect(second.online.map((u) => u.id).sort()).toEqual(["alice", "bob"]);
  });

  it("delivers a message to every socket and acks the sender with the stored seq and id", async () => {
    const room = uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    const clientId = newClientId();
    alice.send({ type: "send", clientId, text: "  hello bob  " });
    const ack = await alice.next("ack");
    const mine = await alice.next("message");
    const theirs = await bob.next("message");
    expect(ack).toMatchObject({ clientId, seq: 1, id: mine.message.id, createdAt: mine.message.createdAt });
    expect(theirs.message).toEqual(mine.message);
    expect(theirs.message).toMatchObject({
      roomId: room,
      seq: 1,
      clientId,
      author: { id: "alice", name: "alice" },
      text: "hello bob",
      editedAt: null,
      deletedAt: null,
      replyTo: null,
    });
  });
});
