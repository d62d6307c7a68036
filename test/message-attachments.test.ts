/** Messages that carry uploads: claiming them, resending, limits, and deleting the files with the message. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { objectKey } from "../src/attachments/store";
import { MAX_ATTACHMENTS_PER_MESSAGE, type AttachmentRef, type Message } from "../src/protocol";
import { api, call, connect, createGroup, expectError, people, tokenFor, uploadAs } from "./helpers";

async function fetchFile(url: string, user: string) {
  return api(url, { token: await tokenFor(user) });
}

describe("a message with attachments", () => {
  it("carries its uploads to every socket and into history, and members can fetch them", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const files = [await uploadAs(room.id, a!, "first"), await uploadAs(room.id, a!, "second")];
    const bob = await connect(room.id, b!);
    const res = await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "f-1", text: "two files", attachments: files.map((f) => f.id) });
    expect(res.status).toBe(201);
    const { message } = (await res.json()) as { message: Message };
    expect(message.attachments).toEqual(files);
    const live = await bob.socket.next("message", (f) => f.message.id === message.id);
    expect(live.message.attachments.map((f) => f.id)).toEqual(files.map((f) => f.id));
    const fetched = await fetchFile(files[1]!.url, b!);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe("second");
    bob.socket.close();
  });

  it("may have no text, and a resend with the same clientId claims the same files again", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const file = await uploadAs(room.id, a!);
    const body = { clientId: "f-2", text: "  ", attachments: [file.id] };
    const first = await call("POST", `/api/rooms/${room.id}/messages`, a!, body);
    expect(first.status).toBe(201);
    const again = await call("POST", `/api/rooms/${room.id}/messages`, a!, body);
    expect(again.status).toBe(200);
    const [m1, m2] = [(await first.json()) as { message: Message }, (await again.json()) as { message: Message }];
    expect(m2.message).toMatchObject({ id: m1.message.id, text: "", attachments: [file] });
    // Text-less sends without files are still refused.
    await expectError(await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "f-3", text: " " }), 400, "bad_request");
  });

  it("may name only its sender's unclaimed uploads in this room", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const other = await createGroup(a!, [b!]);
    const bobs = await uploadAs(room.id, b!);
    const elsewhere = await uploadAs(other.id, a!);
    const mine = await uploadAs(room.id, a!);
    for (const ids of [[bobs.id], [elsewhere.id], [mine.id, "no-such-upload"]]) {
      await expectError(await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: crypto.randomUUID(), text: "x", attachments: ids }), 400, "bad_request");
    }
    // Nothing was stored, and `mine` was not claimed by the refused send: it can still be used.
    const { messages } = (await (await call("GET", `/api/rooms/${room.id}/messages`, a!)).json()) as { messages: Message[] };
    expect(messages).toEqual([]);
    expect((await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "ok", text: "mine", attachments: [mine.id] })).status).toBe(201);
    // …once: another send may not take it.
    await expectError(await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "again", text: "mine again", attachments: [mine.id] }), 400, "bad_request");
  });

  it(`takes up to ${MAX_ATTACHMENTS_PER_MESSAGE} uploads and refuses one more`, async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const files: AttachmentRef[] = [];
    for (let i = 0; i <= MAX_ATTACHMENTS_PER_MESSAGE; i++) files.push(await uploadAs(room.id, a!, `file ${i}`));
    const over = files.map((f) => f.id);
    await expectError(await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "over", text: "too many", attachments: over }), 400, "bad_request");
    const { socket } = await connect(room.id, a!);
    socket.send({ type: "send", clientId: "over-socket", text: "too many", attachments: over });
    expect(await socket.next("error", (f) => f.clientId === "over-socket")).toMatchObject({ code: "bad_request" });
    socket.send({ type: "send", clientId: "max", text: "just enough", attachments: over.slice(0, MAX_ATTACHMENTS_PER_MESSAGE) });
    await socket.next("ack", (f) => f.clientId === "max");
    socket.close();
  });

  it("loses its files when it is deleted: the message no longer names them and their bytes are gone", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const file = await uploadAs(room.id, a!, "private scan");
    const res = await call("POST", `/api/rooms/${room.id}/messages`, a!, { clientId: "d-1", text: "scan", attachments: [file.id] });
    const { message } = (await res.json()) as { message: Message };
    expect((await fetchFile(file.url, b!)).status).toBe(200);
    const deleted = await call("DELETE", `/api/rooms/${room.id}/messages/${message.id}`, a!);
    expect(((await deleted.json()) as { message: Message }).message.attachments).toEqual([]);
    await expect.poll(async () => (await fetchFile(file.url, b!)).status).toBe(404);
    expect(await env.FILES.head(objectKey(room.id, file.id))).toBeNull();
  });
});
