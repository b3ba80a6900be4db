import { describe, expect, test } from "bun:test";
import { MultipartReader, multipartBoundary, parsePartHeaders } from "./multipart.ts";

const enc = new TextEncoder();

/** a body as a browser/httpx would build it */
function build(boundary: string, parts: { name: string; filename?: string; type?: string; data: Uint8Array | string }[], epilogue = "\r\n"): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    out.push(enc.encode(`${head}\r\n`));
    out.push(typeof p.data === "string" ? enc.encode(p.data) : p.data);
    out.push(enc.encode("\r\n"));
  }
  out.push(enc.encode(`--${boundary}--${epilogue}`));
  return Buffer.concat(out);
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function readAll(body: Uint8Array, boundary: string, chunk: number) {
  const r = new MultipartReader(chunked(body, chunk), boundary);
  const out: { name: string; filename: string | null; type: string | null; data: Uint8Array }[] = [];
  for (let h = await r.next(); h; h = await r.next()) {
    const parts: Uint8Array[] = [];
    for await (const c of r.body()) parts.push(Uint8Array.from(c));
    out.push({ name: h.name, filename: h.filename, type: h.contentType, data: Buffer.concat(parts) });
  }
  r.close();
  return out;
}

describe("multipartBoundary", () => {
  test("reads plain and quoted boundaries of multipart/form-data only", () => {
    expect(multipartBoundary("multipart/form-data; boundary=abc123")).toBe("abc123");
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a;b c"')).toBe("a;b c");
    expect(multipartBoundary("multipart/form-data")).toBeNull();
    expect(multipartBoundary("multipart/mixed; boundary=x")).toBeNull();
    expect(multipartBoundary("audio/wav")).toBeNull();
    expect(multipartBoundary(null)).toBeNull();
    expect(multipartBoundary(`multipart/form-data; boundary=${"x".repeat(71)}`)).toBeNull();
  });
});

describe("parsePartHeaders", () => {
  test("name, filename (quoted, escaped, RFC 5987) and content type", () => {
    expect(parsePartHeaders('Content-Disposition: form-data; name="file"; filename="a \\"b\\".wav"\r\nContent-Type: Audio/WAV; x=1')).toEqual({
      name: "file",
      filename: 'a "b".wav',
      contentType: "audio/wav",
    });
    expect(parsePartHeaders("content-disposition: form-data; name=model")).toEqual({ name: "model", filename: null, contentType: null });
    expect(parsePartHeaders(`Content-Disposition: form-data; name="file"; filename="x"; filename*=UTF-8''%D0%B7%D0%B0%D0%BF%D0%B8%D1%81%D1%8C.wav`).filename).toBe("запись.wav");
  });

  test("missing disposition or name → bad_message", () => {
    expect(() => parsePartHeaders("Content-Type: text/plain")).toThrow(expect.objectContaining({ code: "bad_message" }));
    expect(() => parsePartHeaders('Content-Disposition: form-data; filename="a"')).toThrow(expect.objectContaining({ code: "bad_message" }));
    expect(() => parsePartHeaders("Content-Disposition: attachment; name=a")).toThrow(expect.objectContaining({ code: "bad_message" }));
  });
});

describe("MultipartReader", () => {
  // binary data that contains CR/LF, dashes and a near-boundary
  const B = "----gigasttBoundary42";
  const binary = new Uint8Array(5000);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 131 + 7) & 0xff;
  binary.set(enc.encode(`\r\n--${B.slice(0, -1)}X`), 1000);
  binary.set(enc.encode("\r\n\r\n--"), 3000);
  const body = build(B, [
    { name: "model", data: "gigaam-v3" },
    { name: "empty", data: "" },
    { name: "file", filename: "a.wav", type: "audio/wav", data: binary },
    { name: "response_format", data: "verbose_json" },
  ]);

  test("the same parts for every chunking, byte for byte", async () => {
    for (const size of [1, 2, 3, 7, 64, 1000, body.length]) {
      const parts = await readAll(body, B, size);
      expect(parts.map((p) => [p.name, p.filename, p.type])).toEqual([
        ["model", null, null],
        ["empty", null, null],
        ["file", "a.wav", "audio/wav"],
        ["response_format", null, null],
      ]);
      expect(new TextDecoder().decode(parts[0]!.data)).toBe("gigaam-v3");
      expect(parts[1]!.data.length).toBe(0);
      expect(Buffer.compare(Buffer.from(parts[2]!.data), Buffer.from(binary))).toBe(0);
      expect(new TextDecoder().decode(parts[3]!.data)).toBe("verbose_json");
    }
  });

  test("a preamble, transport padding and an epilogue are ignored; unread bodies are skipped by next()", async () => {
    const raw = Buffer.concat([enc.encode("preamble text\r\n"), build(B, [{ name: "a", data: "1" }, { name: "b", data: "2" }], "\r\nepilogue")]);
    const padded = Buffer.from(raw.toString("latin1").replace(`--${B}\r\n`, `--${B}  \t\r\n`), "latin1");
    const r = new MultipartReader(chunked(padded, 5), B);
    expect((await r.next())?.name).toBe("a"); // body not read
    const h = await r.next();
    expect(h?.name).toBe("b");
    expect(await r.text(10)).toBe("2");
    expect(await r.next()).toBeNull();
    expect(await r.next()).toBeNull();
  });

  test("a part body is streamed: chunks come out before the body has fully arrived", async () => {
    const big = new Uint8Array(1 << 20).fill(0x61);
    const bytes = build(B, [{ name: "file", filename: "x", data: big }]);
    let pulled = 0;
    async function* src() {
      for (let i = 0; i < bytes.length; i += 65536) {
        pulled = i + 65536;
        yield bytes.subarray(i, i + 65536);
      }
    }
    const r = new MultipartReader(src(), B);
    await r.next();
    let got = 0;
    let firstAt = -1;
    for await (const c of r.body()) {
      if (firstAt < 0) firstAt = pulled;
      got += c.length;
    }
    expect(got).toBe(big.length);
    expect(firstAt).toBeLessThanOrEqual(65536);
  });

  test("text() enforces its limit with a usage error naming the field", async () => {
    const r = new MultipartReader(chunked(build(B, [{ name: "prompt", data: "x".repeat(100) }]), 16), B);
    await r.next();
    await expect(r.text(50, "prompt")).rejects.toMatchObject({ code: "usage", message: expect.stringContaining("prompt") });
  });

  test("truncated bodies, missing boundaries and oversized headers → bad_message", async () => {
    const full = build(B, [{ name: "file", filename: "a.wav", data: binary }]);
    for (const bad of [full.subarray(0, 2000), full.subarray(0, full.length - 10), enc.encode("no multipart here")]) {
      await expect(readAll(bad, B, 100)).rejects.toMatchObject({ code: "bad_message" });
    }
    const hugeHead = enc.encode(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${"p".repeat(20_000)}\r\n\r\nv\r\n--${B}--\r\n`);
    await expect(readAll(hugeHead, B, 1000)).rejects.toMatchObject({ code: "bad_message", message: expect.stringContaining("headers too large") });
    const junk = enc.encode(`--${B}junk\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--${B}--\r\n`);
    await expect(readAll(junk, B, 7)).rejects.toMatchObject({ code: "bad_message" });
  });

  test("more parts than maxParts → bad_message", async () => {
    const many = build(
      B,
      Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: "v" })),
    );
    const r = new MultipartReader(chunked(many, 50), B, { maxParts: 4 });
    for (let i = 0; i < 4; i++) await r.next();
    await expect(r.next()).rejects.toMatchObject({ code: "bad_message" });
  });

  test("close() stops the source", async () => {
    let returned = false;
    async function* src() {
      try {
        yield enc.encode(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc`);
        yield enc.encode("more");
      } finally {
        returned = true;
      }
    }
    const r = new MultipartReader(src(), B);
    await r.next();
    r.close();
    await Bun.sleep(0);
    expect(returned).toBe(true);
  });
});
