import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimAttachments } from "../src/attachments/claim";
import { REMOVING, removeUnclaimed } from "../src/attachments/cleanup";
import { MAX_ATTACHMENT_BYTES, UNCLAIMED_TTL_MS } from "../src/attachments/policy";
import { dropAttachments, objectKey } from "../src/attachments/store";
import worker from "../src/index";
import type { AttachmentRef } from "../src/protocol";
import { api, tokenFor, uniqueRoom } from "./helpers";

// ---- Real files, built byte by byte -------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const be16 = (n: number) => [(n >>> 8) & 255, n & 255];
const ascii = (s: string) => new TextEncoder().encode(s);

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typed = concat(ascii(type), data);
  return concat(be32(data.length), typed, be32(crc32(typed)));
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A complete RGBA PNG of the given size, every pixel red. */
async function png(width: number, height: number): Promise<Uint8Array> {
  const row = [0, ...Array.from({ length: width }, () => [255, 0, 0, 255]).flat()];
  const raw = Uint8Array.from(Array.from({ length: height }, () => row).flat());
  return concat(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    pngChunk("IHDR", Uint8Array.from([...be32(width), ...be32(height), 8, 6, 0, 0, 0])),
    pngChunk("IDAT", await deflate(raw)),
    pngChunk("IEND", new Uint8Array(0)),
  );
}

/** A baseline JPEG's header (JFIF, or Exif with an orientation, then the frame) and its end. */
function jpeg(width: number, height: number, orientation?: number): Uint8Array {
  const app =
    orientation === undefined
      ? [0xff, 0xe0, ...be16(16), ...ascii("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0]
      : (() => {
          // Big-endian TIFF, one IFD entry: tag 274 (Orientation), SHORT, count 1, the value.
          const entry = [...be16(274), ...be16(3), ...be32(1), ...be16(orientation), 0, 0];
          const tiff = [...ascii("MM\0*"), ...be32(8), ...be16(1), ...entry, ...be32(0)];
          const body = [...ascii("Exif\0\0"), ...tiff];
          return [0xff, 0xe1, ...be16(body.length + 2), ...body];
        })();
  const sof = [0xff, 0xc0, ...be16(17), 8, ...be16(height), ...be16(width), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Uint8Array.from([0xff, 0xd8, ...app, ...sof, 0xff, 0xd9]);
}

/** The classic 1×1 transparent GIF. */
const GIF = Uint8Array.from(atob("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="), (c) => c.charCodeAt(0));

const PDF = ascii(
  "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" +
    "trailer << /Root 1 0 R >>\n%%EOF\n",
);

/** The start of a 64-bit Linux executable. */
const ELF = concat([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], new Uint8Array(56));

// ---- Helpers --------------------------------------------------------------------------------

const path = (room: string, name = "file") => `/api/rooms/${room}/attachments?name=${encodeURIComponent(name)}`;

async function upload(room: string, user: string, bytes: BodyInit, type: string | null, name = "file", headers: Record<string, string> = {}) {
  const all: Record<string, string> = { ...headers };
  if (type !== null) all["content-type"] = type;
  return api(path(room, name), { method: "POST", token: await tokenFor(user), body: bytes, headers: all });
}

async function uploaded(room: string, user: string, bytes: Uint8Array, type: string, name = "file"): Promise<AttachmentRef> {
  const res = await upload(room, user, bytes, type, name);
  expect(res.status).toBe(201);
  return ((await res.json()) as { attachment: AttachmentRef }).attachment;
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

async function fetchFile(url: string, user: string, headers: Record<string, string> = {}) {
  return api(url, { token: await tokenFor(user), headers });
}

/** A body with no Content-Length: it arrives chunked, so only counting can enforce the limit. */
function chunked(size: number, chunk = 1024 * 1024): ReadableStream<Uint8Array> {
  let left = size;
  return new ReadableStream({
    pull(controller) {
      if (left === 0) return controller.close();
      const n = Math.min(chunk, left);
      left -= n;
      controller.enqueue(new Uint8Array(n).fill(0x61));
    },
  });
}

async function row(id: string) {
  return env.DB.prepare("SELECT * FROM attachments WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

const twoPeople = () => uniqueRoom("att", ["alice", "bob"]);

// ---- Uploads ----------------------------------------------------------------------------------

describe("uploading", () => {
  it("stores a PNG and reports its width and height", async () => {
    const room = await twoPeople();
    const bytes = await png(3, 2);
    const ref = await uploaded(room, "alice", bytes, "image/png", "red.png");
    expect(ref).toEqual({
      id: expect.any(String),
      name: "red.png",
      size: bytes.length,
      mimeType: "image/png",
      url: `/api/rooms/${room}/attachments/${ref.id}`,
      width: 3,
      height: 2,
    });
    const stored = await env.FILES.get(objectKey(room, ref.id));
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes);
    expect(stored!.httpMetadata?.contentType).toBe("image/png");
    expect(await row(ref.id)).toMatchObject({ room_id: room, owner_id: "alice", client_id: null, claimed_at: null });
  });

  it("measures JPEG and GIF images, turning a JPEG whose orientation says so", async () => {
    const room = await twoPeople();
    expect(await uploaded(room, "alice", jpeg(40, 30), "image/jpeg")).toMatchObject({ mimeType: "image/jpeg", width: 40, height: 30 });
    expect(await uploaded(room, "alice", jpeg(40, 30, 6), "image/jpeg")).toMatchObject({ width: 30, height: 40 });
    expect(await uploaded(room, "alice", jpeg(40, 30, 1), "image/jpg")).toMatchObject({ mimeType: "image/jpeg", width: 40, height: 30 });
    expect(await uploaded(room, "alice", GIF, "image/gif")).toMatchObject({ mimeType: "image/gif", width: 1, height: 1 });
  });

  it("stores a PDF and plain text without dimensions", async () => {
    const room = await twoPeople();
    const pdf = await uploaded(room, "alice", PDF, "application/pdf", "report.pdf");
    expect(pdf).toMatchObject({ mimeType: "application/pdf", size: PDF.length });
    expect(pdf).not.toHaveProperty("width");
    const text = await uploaded(room, "alice", ascii("grüße\n"), "text/plain; charset=utf-8", "notes.txt");
    expect(text).toMatchObject({ mimeType: "text/plain", size: 8 });
  });

  it("accepts exactly 10 MiB and refuses one byte more with 413, with a Content-Length", async () => {
    const room = await twoPeople();
    const exact = new Uint8Array(MAX_ATTACHMENT_BYTES).fill(0x61);
    expect((await uploaded(room, "alice", exact, "text/plain")).size).toBe(MAX_ATTACHMENT_BYTES);
    const over = new Uint8Array(MAX_ATTACHMENT_BYTES + 1).fill(0x61);
    await expectError(await upload(room, "alice", over, "text/plain"), 413, "too_large");
  });

  it("accepts exactly 10 MiB and refuses one byte more with 413 when the body is chunked", async () => {
    const room = await twoPeople();
    const ok = await upload(room, "alice", chunked(MAX_ATTACHMENT_BYTES), "text/plain");
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { attachment: AttachmentRef }).attachment.size).toBe(MAX_ATTACHMENT_BYTES);
    await expectError(await upload(room, "alice", chunked(MAX_ATTACHMENT_BYTES + 1), "text/plain"), 413, "too_large");
  });

  it("refuses a declared Content-Length over the limit before reading the body", async () => {
    const room = await twoPeople();
    const res = await upload(room, "alice", chunked(10), "text/plain", "f", { "content-length": String(MAX_ATTACHMENT_BYTES + 1) });
    await expectError(res, 413, "too_large");
  });

  it("refuses bytes that are not the declared type with 415", async () => {
    const room = await twoPeople();
    const message = await expectError(await upload(room, "alice", await png(1, 1), "image/jpeg"), 415, "unsupported_type");
    expect(message).toMatch(/image\/png/);
    await expectError(await upload(room, "alice", PDF, "text/plain"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", ascii("just text"), "image/png"), 415, "unsupported_type");
  });

  it("refuses a type that is not allowed with 415, whatever it is declared as", async () => {
    const room = await twoPeople();
    await expectError(await upload(room, "alice", ELF, "application/pdf"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", ELF, "application/x-executable"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", ELF, "application/octet-stream"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", ascii("<html>"), "text/html"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", ascii("text"), null), 415, "unsupported_type");
  });

  it("refuses text/plain that is not UTF-8 text", async () => {
    const room = await twoPeople();
    await expectError(await upload(room, "alice", Uint8Array.from([0x61, 0, 0x62]), "text/plain"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", Uint8Array.from([0x61, 0xc3, 0x28]), "text/plain"), 415, "unsupported_type");
  });

  it("refuses a compressed body, an image whose header is cut off, and an empty file", async () => {
    const room = await twoPeople();
    const gzip = await upload(room, "alice", ascii("text"), "text/plain", "f", { "content-encoding": "gzip" });
    await expectError(gzip, 415, "unsupported_type");
    const truncated = (await png(2, 2)).slice(0, 20);
    await expectError(await upload(room, "alice", truncated, "image/png"), 415, "unsupported_type");
    await expectError(await upload(room, "alice", new Uint8Array(0), "text/plain"), 400, "bad_request");
  });

  it("takes names of 1 to 200 characters without controls or path separators", async () => {
    const room = await twoPeople();
    const text = ascii("hi");
    expect((await uploaded(room, "alice", text, "text/plain", "n".repeat(200))).name).toBe("n".repeat(200));
    expect((await uploaded(room, "alice", text, "text/plain", "x")).name).toBe("x");
    for (const name of ["n".repeat(201), "", "  ", "a/b", "a\\b", "..", "tab\there", "evil\u202Efdp.exe"]) {
      await expectError(await upload(room, "alice", text, "text/plain", name), 400, "bad_request");
    }
    const unnamed = await api(`/api/rooms/${room}/attachments`, {
      method: "POST",
      token: await tokenFor("alice"),
      body: text,
      headers: { "content-type": "text/plain" },
    });
    await expectError(unnamed, 400, "bad_request");
  });

  it("refuses non-members with 403 (before looking at their input) and unknown rooms with 404", async () => {
    const room = await twoPeople();
    await expectError(await upload(room, "carol", await png(1, 1), "image/png"), 403, "forbidden");
    await expectError(await upload(room, "carol", ELF, "application/pdf", ""), 403, "forbidden");
    await expectError(await upload(`nope-${crypto.randomUUID()}`, "alice", PDF, "application/pdf"), 404, "not_found");
    const anonymous = await api(path(room), { method: "POST", body: PDF, headers: { "content-type": "application/pdf" } });
    await expectError(anonymous, 401, "unauthorized");
  });
});

// ---- Downloads ----------------------------------------------------------------------------------

describe("downloading", () => {
  it("serves the file to members with its type, length, ETag and safe headers", async () => {
    const room = await twoPeople();
    const bytes = await png(2, 2);
    const ref = await uploaded(room, "alice", bytes, "image/png", "ünïcode \"quoted\".png");
    const res = await fetchFile(ref.url, "bob");
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect(res.headers.get("cache-control")).toMatch(/^private\b/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-disposition")).toBe(
      `inline; filename="_n_code _quoted_.png"; filename*=UTF-8''%C3%BCn%C3%AFcode%20%22quoted%22.png`,
    );
  });

  it("serves files other than images as downloads, and text as UTF-8", async () => {
    const room = await twoPeople();
    const pdf = await fetchFile((await uploaded(room, "alice", PDF, "application/pdf", "a.pdf")).url, "alice");
    expect(pdf.headers.get("content-disposition")).toMatch(/^attachment; filename="a.pdf"/);
    const text = await fetchFile((await uploaded(room, "alice", ascii("hello"), "text/plain", "t.txt")).url, "alice");
    expect(text.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(text.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(await text.text()).toBe("hello");
  });

  it("refuses non-members with 403", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    await expectError(await fetchFile(ref.url, "carol"), 403, "forbidden");
    await expectError(await api(ref.url), 401, "unauthorized");
  });

  it("answers 404 for an attachment asked for through another room, even one the caller is in", async () => {
    const room = await twoPeople();
    const other = await uniqueRoom("att", ["alice", "bob", "carol"]);
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    await expectError(await fetchFile(`/api/rooms/${other}/attachments/${ref.id}`, "alice"), 404, "not_found");
    await expectError(await fetchFile(`/api/rooms/${other}/attachments/${ref.id}`, "carol"), 404, "not_found");
    await expectError(await fetchFile(`/api/rooms/${room}/attachments/${crypto.randomUUID()}`, "alice"), 404, "not_found");
    await expectError(await fetchFile(`/api/rooms/${room}/attachments/not-an-id`, "alice"), 400, "bad_request");
  });

  it("answers 304 to If-None-Match with the current ETag, strong or weak, and 200 to another", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    const etag = (await fetchFile(ref.url, "alice")).headers.get("etag")!;
    const same = await fetchFile(ref.url, "bob", { "if-none-match": etag });
    expect(same.status).toBe(304);
    expect(same.headers.get("etag")).toBe(etag);
    expect(await same.text()).toBe("");
    expect((await fetchFile(ref.url, "bob", { "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    const changed = await fetchFile(ref.url, "bob", { "if-none-match": '"other"' });
    expect(changed.status).toBe(200);
    expect(new Uint8Array(await changed.arrayBuffer())).toEqual(PDF);
    // A non-member's If-None-Match does not reveal that the ETag matches.
    expect((await fetchFile(ref.url, "carol", { "if-none-match": etag })).status).toBe(403);
  });

  it("serves byte ranges: first bytes, open-ended, suffix, and the last byte", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    const size = PDF.length;
    const cases: [string, number, number][] = [
      ["bytes=0-4", 0, 4],
      ["bytes=10-", 10, size - 1],
      ["bytes=-6", size - 6, size - 1],
      [`bytes=${size - 1}-`, size - 1, size - 1],
      [`bytes=0-${size + 100}`, 0, size - 1],
      [`bytes=-${size + 100}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetchFile(ref.url, "bob", { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(PDF.slice(start, end + 1));
    }
  });

  it("answers 416 to a range that starts past the end or is empty", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    for (const range of [`bytes=${PDF.length}-`, `bytes=${PDF.length}-${PDF.length + 5}`, "bytes=-0"]) {
      const res = await fetchFile(ref.url, "bob", { range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range")).toBe(`bytes */${PDF.length}`);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    }
  });

  it("sends the whole file for ranges it does not serve, and for an If-Range that does not match", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    const etag = (await fetchFile(ref.url, "alice")).headers.get("etag")!;
    const ignored: Record<string, string>[] = [
      { range: "bytes=0-1,4-5" },
      { range: "lines=1-2" },
      { range: "bytes=5-2" },
      { range: "bytes=0-3", "if-range": '"old"' },
    ];
    for (const headers of ignored) {
      const res = await fetchFile(ref.url, "bob", headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(PDF);
    }
    const matching = await fetchFile(ref.url, "bob", { range: "bytes=0-3", "if-range": etag });
    expect(matching.status).toBe(206);
    expect(await matching.text()).toBe("%PDF");
  });
});

// ---- Claims ----------------------------------------------------------------------------------

describe("claiming uploads for a message", () => {
  async function uploads(room: string, user: string, n: number) {
    const refs: AttachmentRef[] = [];
    for (let i = 0; i < n; i++) refs.push(await uploaded(room, user, ascii(`file ${i}`), "text/plain", `f${i}.txt`));
    return refs;
  }

  it("claims the owner's uploads in the order given, and the same send again", async () => {
    const room = await twoPeople();
    const [a, b] = await uploads(room, "alice", 2);
    const first = await claimAttachments(env.DB, room, "alice", "c-1", [b!.id, a!.id]);
    expect(first).toEqual({ ok: true, value: [b, a] });
    const claimedAt = (await row(a!.id))!.claimed_at;
    expect(await row(a!.id)).toMatchObject({ client_id: "c-1", claimed_at: expect.any(String) });
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [b!.id, a!.id])).toEqual(first);
    expect((await row(a!.id))!.claimed_at).toBe(claimedAt);
    expect(await claimAttachments(env.DB, room, "alice", "c-2", [])).toEqual({ ok: true, value: [] });
  });

  it("refuses another user's upload, another room's, and one another message has", async () => {
    const room = await twoPeople();
    const other = await twoPeople();
    const [mine] = await uploads(room, "alice", 1);
    const [elsewhere] = await uploads(other, "alice", 1);
    const byBob = await claimAttachments(env.DB, room, "bob", "c-1", [mine!.id]);
    expect(byBob).toMatchObject({ ok: false, code: "bad_request", message: expect.stringContaining(mine!.id) });
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [elsewhere!.id])).toMatchObject({ ok: false, code: "bad_request" });
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [mine!.id])).toMatchObject({ ok: true });
    const again = await claimAttachments(env.DB, room, "alice", "c-2", [mine!.id]);
    expect(again).toMatchObject({ ok: false, code: "bad_request", message: expect.stringMatching(/another message/) });
    expect(await row(mine!.id)).toMatchObject({ client_id: "c-1" });
  });

  it("claims 10 at once but not 11, nor one id twice", async () => {
    const room = await twoPeople();
    const refs = await uploads(room, "alice", 11);
    const ids = refs.map((r) => r.id);
    expect(await claimAttachments(env.DB, room, "alice", "c-11", ids)).toMatchObject({ ok: false, code: "bad_request" });
    expect(await row(ids[0]!)).toMatchObject({ client_id: null });
    expect(await claimAttachments(env.DB, room, "alice", "c-dup", [ids[0]!, ids[0]!])).toMatchObject({ ok: false, code: "bad_request" });
    const ten = await claimAttachments(env.DB, room, "alice", "c-10", ids.slice(0, 10));
    expect(ten.ok && ten.value.map((r) => r.id)).toEqual(ids.slice(0, 10));
  });

  it("claims nothing when one id is unknown", async () => {
    const room = await twoPeople();
    const [a, b] = await uploads(room, "alice", 2);
    const unknown = crypto.randomUUID();
    const result = await claimAttachments(env.DB, room, "alice", "c-1", [a!.id, unknown, b!.id]);
    expect(result).toMatchObject({ ok: false, code: "bad_request", message: expect.stringContaining(unknown) });
    expect(await row(a!.id)).toMatchObject({ client_id: null, claimed_at: null });
    expect(await row(b!.id)).toMatchObject({ client_id: null, claimed_at: null });
    // And nothing either when the bad one is taken by another message.
    expect(await claimAttachments(env.DB, room, "alice", "c-2", [b!.id])).toMatchObject({ ok: true });
    expect(await claimAttachments(env.DB, room, "alice", "c-3", [a!.id, b!.id])).toMatchObject({ ok: false });
    expect(await row(a!.id)).toMatchObject({ client_id: null });
  });
});

// ---- Removal ----------------------------------------------------------------------------------

describe("removing files", () => {
  it("removes unclaimed uploads once they are more than a day old, objects and rows, and no claimed ones", async () => {
    const room = await twoPeople();
    const unclaimed = await uploaded(room, "alice", PDF, "application/pdf");
    const claimed = await uploaded(room, "alice", PDF, "application/pdf");
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [claimed.id])).toMatchObject({ ok: true });
    const created = Date.parse((await row(unclaimed.id))!.created_at as string);

    // Exactly a day old: kept.
    await removeUnclaimed(env, created + UNCLAIMED_TTL_MS);
    expect(await row(unclaimed.id)).not.toBeNull();
    expect(await env.FILES.head(objectKey(room, unclaimed.id))).not.toBeNull();

    // A millisecond more: removed.
    expect(await removeUnclaimed(env, created + UNCLAIMED_TTL_MS + 1)).toBeGreaterThanOrEqual(1);
    expect(await row(unclaimed.id)).toBeNull();
    expect(await env.FILES.head(objectKey(room, unclaimed.id))).toBeNull();
    await expectError(await fetchFile(unclaimed.url, "alice"), 404, "not_found");
    expect(await row(claimed.id)).not.toBeNull();
    expect((await fetchFile(claimed.url, "bob")).status).toBe(200);
  });

  it("never lets a send claim an upload the cleanup has started to remove, and finishes it next time", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    // As a run leaves it when deleting the objects failed.
    await env.DB.prepare("UPDATE attachments SET claimed_at = ?, created_at = ? WHERE id = ?")
      .bind(REMOVING, new Date(Date.now() - 2 * UNCLAIMED_TTL_MS).toISOString(), ref.id)
      .run();
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [ref.id])).toMatchObject({ ok: false, code: "bad_request" });
    expect(await removeUnclaimed(env)).toBeGreaterThanOrEqual(1);
    expect(await row(ref.id)).toBeNull();
    expect(await env.FILES.head(objectKey(room, ref.id))).toBeNull();
  });

  // The Worker's own handler, called as the platform calls it: under this vitest plugin SELF is
  // an RPC stub whose `scheduled` does not dispatch a scheduled event.
  it("runs the cleanup from the Worker's scheduled handler", async () => {
    const room = await twoPeople();
    const ref = await uploaded(room, "alice", PDF, "application/pdf");
    await env.DB.prepare("UPDATE attachments SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - UNCLAIMED_TTL_MS - 60_000).toISOString(), ref.id)
      .run();
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await row(ref.id)).toBeNull();
    expect(await env.FILES.head(objectKey(room, ref.id))).toBeNull();
  });

  it("drops a deleted message's files, and dropping them again does nothing", async () => {
    const room = await twoPeople();
    const a = await uploaded(room, "alice", PDF, "application/pdf");
    const b = await uploaded(room, "alice", await png(1, 1), "image/png");
    expect(await claimAttachments(env.DB, room, "alice", "c-1", [a.id, b.id])).toMatchObject({ ok: true });
    await dropAttachments(env, [a.id, b.id]);
    for (const ref of [a, b]) {
      expect(await row(ref.id)).toBeNull();
      expect(await env.FILES.head(objectKey(room, ref.id))).toBeNull();
      await expectError(await fetchFile(ref.url, "alice"), 404, "not_found");
    }
    await dropAttachments(env, [a.id, b.id, crypto.randomUUID()]);
    await dropAttachments(env, []);
  });
});
