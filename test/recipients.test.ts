import { describe, expect, it } from "vitest";
import { excerpt, mentionsIn, recipientsOf, type MessageFacts, type RoomFacts } from "../src/notify/recipients";

const alice = { id: "alice", name: "Alice", kind: "member" as const };
const members = [
  { id: "alice", name: "Alice" },
  { id: "bob", name: "Bob" },
  { id: "carol", name: "Carol Smith" },
];
type Facts = Omit<RoomFacts, "members" | "present"> & { members: RoomFacts["members"] | { id: string; name: string }[]; present: RoomFacts["present"] | { id: string; name: string }[] };
const room = (over: Partial<Facts> = {}): RoomFacts => {
  const f: Facts = { kind: "group", title: "Team", members, present: [], staff: [], viewing: () => false, ...over };
  const lazy = <T,>(v: T[] | (() => T[])) => (typeof v === "function" ? v : () => v);
  return { ...f, members: lazy(f.members as never), present: lazy(f.present as never) };
};
const message = (over: Partial<MessageFacts> = {}): MessageFacts => ({ author: alice, text: "hi", hasFiles: false, replyToAuthorId: null, ...over });
const who = (list: { userId: string; kind: string }[]) => list.map((r) => `${r.userId}:${r.kind}`).sort();

describe("who a message notifies", () => {
  it("finds mentions by id or display name, in any case, and a spaced name written without spaces", () => {
    expect([...mentionsIn("@Bob, @carolsmith and email a@b.c")].map(([k]) => k)).toEqual(["bob", "carolsmith"]);
    expect(who(recipientsOf(message({ text: "@BOB and @CarolSmith" }), room()))).toEqual(["bob:mention", "carol:mention"]);
  });

  it("ignores mentions of non-members in a group and of the author", () => {
    expect(recipientsOf(message({ text: "@dave @alice" }), room())).toEqual([]);
  });

  it("in the community, marks an @id it cannot check so the consumer verifies it", () => {
    const list = recipientsOf(message({ text: "@dave @bob" }), room({ kind: "community", members: [] , present: [{ id: "bob", name: "Bob" }] }));
    expect(list.find((r) => r.userId === "bob")).not.toHaveProperty("unverified");
    expect(list.find((r) => r.userId === "dave")).toMatchObject({ kind: "mention", unverified: true });
  });

  it("gives one notification per person, the strongest reason winning", () => {
    const list = recipientsOf(message({ text: "@bob thanks", replyToAuthorId: "bob" }), room());
    expect(who(list)).toEqual(["bob:mention"]);
  });

  it("skips whoever is looking at the room", () => {
    expect(recipientsOf(message({ text: "@bob" }), room({ viewing: (id) => id === "bob" }))).toEqual([]);
  });

  it("notifies the other person of a direct message, staff of a visitor, and the visitor of staff", () => {
    expect(who(recipientsOf(message(), room({ kind: "direct", members: members.slice(0, 2) })))).toEqual(["bob:dm"]);
    const visitorRoom = room({ kind: "visitor", members: [{ id: "v-1", name: "Guest" }], staff: ["s1", "s2"] });
    expect(who(recipientsOf(message({ author: { id: "v-1", name: "Guest", kind: "visitor" } }), visitorRoom))).toEqual(["s1:visitor", "s2:visitor"]);
    expect(who(recipientsOf(message({ author: { id: "s1", name: "Sam", kind: "member" } }), visitorRoom))).toEqual(["v-1:dm"]);
  });

  it("cuts long texts to 140 characters and names attachments without text", () => {
    expect([...excerpt("x".repeat(200), false)]).toHaveLength(140);
    expect(excerpt("", true)).toBe("sent an attachment");
    expect(excerpt("😀".repeat(140), false)).toBe("😀".repeat(140));
  });
});
