import { describe, expect, test } from "bun:test";
import { concatBytes as cat } from "../../test/helpers/wav.ts";
import { encodeEvent, WyomingDecoder, type WyomingEvent } from "./framing.ts";

const enc = new TextEncoder();
const line = (h: unknown) => enc.encode(`${JSON.stringify(h)}\n`);


function decodeAll(bytes: Uint8Array, split: number): WyomingEvent[] {
  const d = new WyomingDecoder();
  const out: WyomingEvent[] = [];
  for (let i = 0; i < bytes.length; i += split) {
    const r = d.push(bytes.subarray(i, i + split));
    expect(r.error).toBeNull();
    out.push(...r.events);
  }
  expect(d.idle).toBe(true);
  return out;
}

describe("WyomingDecoder", () => {
  const payload = Uint8Array.from({ length: 301 }, (_, i) => i & 255);
  const extra = enc.encode(JSON.stringify({ width: 2, channels: 1, note: "данные" }));
  const stream = cat(
    line({ type: "describe" }),
    enc.encode("\n"),
    line({ type: "audio-chunk", data: { rate: 16000, width: 4 }, data_length: extra.length, payload_length: payload.length }),
    extra,
    payload,
    line({ type: "audio-stop", data: null, payload_length: null, version: "1.10.2" }),
  );

  test("any split of the stream gives the same events; data_length data is merged over header data", () => {
    const whole = decodeAll(stream, stream.length);
    expect(whole.map((e) => e.type)).toEqual(["describe", "audio-chunk", "audio-stop"]);
    expect(whole[1]!.data).toEqual({ rate: 16000, width: 2, channels: 1, note: "данные" });
    expect(whole[1]!.payload).toEqual(payload);
    expect(whole[0]!.payload).toBeNull();
    expect(whole[2]!.data).toEqual({});
    for (const split of [1, 2, 7, 64, 333]) expect(decodeAll(stream, split)).toEqual(whole);
  });

  test("framing errors keep the events before them and stay failed", () => {
    const d = new WyomingDecoder();
    const r = d.push(cat(line({ type: "ping" }), enc.encode("[1,2]\n"), line({ type: "describe" })));
    expect(r.events.map((e) => e.type)).toEqual(["ping"]);
    expect(r.error?.code).toBe("bad_message");
    expect(d.push(line({ type: "describe" }))).toEqual({ events: [], error: r.error });
  });

  test("limits: header line, data_length and payload_length", () => {
    const d = new WyomingDecoder({ maxHeaderBytes: 100, maxDataBytes: 10, maxPayloadBytes: 1000 });
    // a header line is refused as soon as it is too long, newline or not
    expect(d.push(enc.encode("x".repeat(101))).error?.code).toBe("payload_too_large");
    expect(new WyomingDecoder({ maxDataBytes: 10 }).push(line({ type: "a", data_length: 11 })).error?.code).toBe("payload_too_large");
    expect(new WyomingDecoder({ maxPayloadBytes: 1000 }).push(line({ type: "a", payload_length: 1001 })).error?.code).toBe("payload_too_large");
    for (const bad of [{ type: 5 }, { type: "" }, { type: "a", data: [1] }, { type: "a", payload_length: 1.5 }, { type: "a", data_length: "3" }]) {
      expect(new WyomingDecoder().push(line(bad)).error?.code).toBe("bad_message");
    }
    // data that is not a JSON object
    expect(new WyomingDecoder().push(cat(line({ type: "a", data_length: 3 }), enc.encode("[1]"))).error?.code).toBe("bad_message");
    // invalid UTF-8 in the header
    expect(new WyomingDecoder().push(Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a)).error?.code).toBe("bad_message");
  });

  test("deeply nested JSON in a header or a data part → bad_message, judged before parsing (fast)", () => {
    const n = 300_000; // a 600 kB data part: within the 1 MiB cap
    const nested = enc.encode(`{"a":${"[".repeat(n)}${"]".repeat(n)}}`);
    const t = performance.now();
    const r = new WyomingDecoder().push(cat(line({ type: "transcribe", data_length: nested.length }), nested));
    expect(r.error?.code).toBe("bad_message");
    expect(r.error?.message).toContain("nested");
    const h = new WyomingDecoder().push(enc.encode(`{"type":"a","data":{"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}}\n`));
    expect(h.error?.message).toContain("nested");
    expect(performance.now() - t).toBeLessThan(250);
    // ordinary nesting is fine
    const ok = new WyomingDecoder().push(line({ type: "a", data: { b: { c: [1, [2, [3]]] } } }));
    expect(ok.error).toBeNull();
    expect(ok.events[0]?.data).toEqual({ b: { c: [1, [2, [3]]] } });
  });
});

describe("encodeEvent", () => {
  test("header line with inline data and version; payload after it; the decoder reads it back", () => {
    const bytes = encodeEvent("transcript", { text: "привет" }, Uint8Array.of(1, 2, 3));
    const nl = bytes.indexOf(10);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, nl)));
    expect(header).toEqual({ type: "transcript", version: expect.any(String), data: { text: "привет" }, payload_length: 3 });
    const [e] = new WyomingDecoder().push(bytes).events;
    expect(e).toEqual({ type: "transcript", data: { text: "привет" }, payload: Uint8Array.of(1, 2, 3) });
    expect(new TextDecoder().decode(encodeEvent("transcript-stop"))).toMatch(/^\{"type":"transcript-stop","version":"[\d.]+"\}\n$/);
  });
});
