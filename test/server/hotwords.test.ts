/**
 * Hotwords on every server surface, with the real engine on the tone model with rival pieces
 * (test/hotwords-tone.test.ts): the ambiguous tone "город or голос" reads "город" unless the
 * request (or the server's default list) names "голос".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_TONE_PIECES } from "../../scripts/make-tone-model.ts";
import { requestList } from "../../src/decode/hotwords.ts";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { parseServeConfig } from "../../src/server/config.ts";
import { startServer } from "../../src/server/server.ts";
import { chordsToAudio, makeToneModelDir, type ToneStep } from "../helpers/tone.ts";
import { finalText, parseSse, pcm16, startToneServer, streamSession, type TestServer, WsClient, wavBytes } from "./streaming-helpers.ts";

const CITY_OR_VOICE: ToneStep = [
  ["▁город", 0.35],
  ["▁голос", 0.3],
];
const WAV = wavBytes(chordsToAudio(["▁привет", CITY_OR_VOICE, "▁мир"]));
const PCM = pcm16(chordsToAudio(["▁привет", CITY_OR_VOICE, "▁мир"]));

let plain: Transcriber;
let withDefault: Transcriber;
let srv: TestServer;
let srvDefault: TestServer;
beforeAll(async () => {
  const dir = makeToneModelDir(DEFAULT_TONE_PIECES, { rivals: [["▁город", "▁голос"]] });
  [plain, withDefault] = await Promise.all([
    Transcriber.load({ modelDir: dir, workers: 1 }),
    Transcriber.load({ modelDir: dir, workers: 1, hotwords: requestList(["голос"]) }),
  ]);
  srv = await startToneServer([], {}, plain);
  srvDefault = await startToneServer([], {}, withDefault);
});
afterAll(async () => {
  await Promise.all([srv.stop(), srvDefault.stop()]);
  await Promise.all([plain.close(), withDefault.close()]);
});

async function rest(base: string, query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}/v1/transcribe${query}`, { method: "POST", body: WAV });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe("POST /v1/transcribe hotwords", () => {
  test("?hotwords= turns the ambiguous tone into the hotword; without it the louder piece wins", async () => {
    expect((await rest(srv.url, "")).body.text).toBe("привет город мир");
    expect((await rest(srv.url, "?hotwords=голос")).body.text).toBe("привет голос мир");
    expect((await rest(srv.url, `?hotwords=${encodeURIComponent(" сбер , голос ,")}&hotwords_boost=3`)).body.text).toBe("привет голос мир");
  });

  test("the server's default list applies; a request's list replaces it; an empty hotwords= turns it off", async () => {
    expect((await rest(srvDefault.url, "")).body.text).toBe("привет голос мир");
    expect((await rest(srvDefault.url, "?hotwords=")).body.text).toBe("привет город мир");
    expect((await rest(srvDefault.url, "?hotwords=город")).body.text).toBe("привет город мир");
    expect((await rest(srvDefault.url, "?hotwords=голос&hotwords_boost=0")).body.text).toBe("привет город мир");
  });

  test("limits and bad boosts are 400 with their codes", async () => {
    const many = Array.from({ length: 65 }, (_, i) => `слово${i}`).join(",");
    const cases: [string, string][] = [
      [`?hotwords=${encodeURIComponent(many)}`, "too_many_hotwords"],
      [`?hotwords=${encodeURIComponent("я".repeat(65))}`, "hotword_phrase_too_long"],
      ["?hotwords=a&hotwords_boost=abc", "invalid_hotwords_boost"],
      ["?hotwords=a&hotwords_boost=-1", "invalid_hotwords_boost"],
      ["?hotwords=a&hotwords_boost=21", "invalid_hotwords_boost"],
    ];
    for (const [q, code] of cases) {
      const r = await rest(srv.url, q);
      expect([q, r.status, r.body.code]).toEqual([q, 400, code]);
    }
    // at the limits: accepted (64 long Cyrillic phrases would not fit a URL: Bun answers 431 over 16 KiB of head)
    const at = Array.from({ length: 63 }, (_, i) => `w${i}`).concat("я".repeat(64)).join(",");
    expect((await rest(srv.url, `?hotwords=${encodeURIComponent(at)}&hotwords_boost=20`)).status).toBe(200);
  });

  test("SSE and channels=split take the same parameters", async () => {
    const r = await fetch(`${srv.url}/v1/transcribe/stream?hotwords=голос`, { method: "POST", body: WAV });
    const { events } = parseSse(await r.text());
    expect(events.find((e) => e.type === "done")!.text).toBe("привет голос мир");
    const split = await rest(srv.url, "?hotwords=голос&channels=split");
    expect((split.body.words as { word: string }[]).map((w) => w.word).join(" ")).toBe("привет голос мир");
  });
});

function form(fields: [string, string][], fileAt: number): { body: Uint8Array; type: string } {
  const boundary = "gigasttBoundary42";
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const file = () => {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`), WAV, enc.encode("\r\n"));
  };
  fields.forEach(([k, v], i) => {
    if (i === fileAt) file();
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  });
  if (fileAt >= fields.length) file();
  parts.push(enc.encode(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

describe("POST /v1/audio/transcriptions hotwords", () => {
  const post = async (fields: [string, string][], fileAt = fields.length) => {
    const f = form(fields, fileAt);
    const r = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: "POST", body: f.body, headers: { "content-type": f.type } });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  test("hotwords and hotwords_boost form fields before the file bias the decode; prompt does not", async () => {
    expect((await post([["model", "whisper-1"]])).body.text).toBe("привет город мир");
    expect((await post([["hotwords", "голос"], ["hotwords_boost", "5"]])).body.text).toBe("привет голос мир");
    expect((await post([["prompt", "голос голос голос"]])).body.text).toBe("привет город мир");
  });

  test("a hotwords field after the file, or over the limits, is a 400 naming the field", async () => {
    const late = await post([["hotwords", "голос"]], 0);
    expect(late.status).toBe(400);
    expect(late.body.error.param).toBe("hotwords");
    const long = await post([["hotwords", "я".repeat(65)]]);
    expect([long.status, long.body.error.code]).toEqual([400, "hotword_phrase_too_long"]);
  });
});

describe("WebSocket configure hotwords", () => {
  test("configure.hotwords (an array or a comma-separated string) biases the session's finals", async () => {
    const a = await streamSession(srv.ws, [PCM], { configure: { sample_rate: 16000 } });
    expect(finalText(a.messages)).toBe("привет город мир");
    const b = await streamSession(srv.ws, [PCM], { configure: { sample_rate: 16000, hotwords: ["голос"], hotwords_boost: 5 } });
    expect(finalText(b.messages)).toBe("привет голос мир");
    const c = await streamSession(srv.ws, [PCM], { configure: { sample_rate: 16000, hotwords: "сбер,голос" } });
    expect(finalText(c.messages)).toBe("привет голос мир");
    const off = await streamSession(srvDefault.ws, [PCM], { configure: { sample_rate: 16000, hotwords: [] } });
    expect(finalText(off.messages)).toBe("привет город мир");
  });

  test("a bad hotwords configure is an error with its code; the session goes on", async () => {
    const c = await WsClient.open(srv.ws);
    await c.next("ready");
    c.json({ type: "configure", sample_rate: 16000, hotwords: Array.from({ length: 65 }, (_, i) => `w${i}`) });
    expect((await c.next("error")).code).toBe("too_many_hotwords");
    c.json({ type: "configure", hotwords: [1, 2] });
    c.json({ type: "configure", hotwords: ["голос"], hotwords_boost: "much" });
    c.json({ type: "configure", hotwords: ["голос"] });
    c.send(PCM);
    c.json({ type: "stop" });
    await c.closed;
    expect(c.ofType("error").map((e) => e.code)).toEqual(["too_many_hotwords", "bad_message", "invalid_hotwords_boost"]);
    expect(finalText(c.messages)).toBe("привет голос мир");
  });
});

describe("POST /v1/jobs hotwords", () => {
  test("?hotwords= is fixed at submission and decides the job's decode; a bad list is refused before anything is stored", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-hw-jobs-"));
    const config = parseServeConfig(["--port", "0", "--enable-jobs", "--jobs-dir", dir], {}, { isTTY: false, cpus: 1 });
    const server = await startServer(config, { transcriber: plain, log: createLogger({ level: "silent", format: "json", write: () => {} }) });
    try {
      const run = async (query: string) => {
        const r = await fetch(`${server.url}/v1/jobs${query}`, { method: "POST", body: WAV });
        expect(r.status).toBe(202);
        const { job_id } = (await r.json()) as { job_id: string };
        for (let i = 0; i < 1000; i++) {
          const j = (await (await fetch(`${server.url}/v1/jobs/${job_id}`)).json()) as { status: string };
          if (j.status === "done") break;
          if (j.status === "failed") throw new Error("job failed");
          await Bun.sleep(20);
        }
        return ((await (await fetch(`${server.url}/v1/jobs/${job_id}/result`)).json()) as { text: string }).text;
      };
      expect(await run("")).toBe("привет город мир");
      expect(await run("?hotwords=голос")).toBe("привет голос мир");
      const bad = await fetch(`${server.url}/v1/jobs?hotwords=a&hotwords_boost=x`, { method: "POST", body: WAV });
      expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, "invalid_hotwords_boost"]);
    } finally {
      await server.stop();
    }
  });
});

describe("gigastt serve --hotwords-file", () => {
  test("the file's list reaches the Workers: requests without hotwords are biased by it", async () => {
    const { EventEmitter } = await import("node:events");
    const { createServer } = await import("node:net");
    const { writeFileSync } = await import("node:fs");
    const { runServe } = await import("../../src/cli/serve.ts");
    const { selectModelFiles } = await import("../../src/model/files.ts");
    const dir = makeToneModelDir(DEFAULT_TONE_PIECES, { rivals: [["▁город", "▁голос"]] });
    const list = join(dir, "hotwords.txt");
    writeFileSync(list, "# ours\nголос\t1.5\n");
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const signals = new EventEmitter();
    let given: unknown;
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    const run = runServe(["--port", String(port), "--model-dir", dir, "--log-level", "silent", "--workers", "1", "--hotwords-file", list], {
      isTTY: false,
      signals: signals as unknown as Pick<NodeJS.Process, "on" | "off">,
      obtainModel: async () => selectModelFiles(dir, "fp32"),
      partialEncoder: async () => undefined,
      mappedLayout: async (files) => ({ files, partialEncoder: undefined }),
      loadTranscriber: async (f, workers, o) => {
        given = o?.hotwords;
        const t = await Transcriber.fromFiles(f, { workers, ...o });
        loaded();
        return t;
      },
    });
    await ready;
    try {
      expect(given).toEqual({ phrases: [{ text: "голос", weight: 1.5 }], boost: 5 });
      const url = `http://127.0.0.1:${port}`;
      expect((await rest(url, "")).body.text).toBe("привет голос мир");
      expect((await rest(url, "?hotwords=")).body.text).toBe("привет город мир");
    } finally {
      signals.emit("SIGTERM", "SIGTERM");
      expect(await run).toBe(0);
    }
  });
});

describe("serve flags --hotwords-*", () => {
  const parse = (argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) =>
    parseServeConfig(argv, env, {
      isTTY: false,
      cpus: 1,
      readFile: (p) => {
        if (p in files) return files[p]!;
        throw Object.assign(new Error("no such file"), { code: "ENOENT" });
      },
    });
  const FILE = "# names\nСбербанк\t2\n\n  голос  \nстарое\t0\nтест\t1.5\n";

  test("the file's phrases (weights, comments, weight 0 dropped) and the boost become the default list", () => {
    const c = parse(["--hotwords-file", "hw.txt", "--hotwords-boost", "4"], {}, { "hw.txt": FILE });
    expect(c.hotwords).toEqual({ phrases: [{ text: "Сбербанк", weight: 2 }, { text: "голос", weight: 1 }, { text: "тест", weight: 1.5 }], boost: 4 });
    expect(parse([]).hotwords).toBeNull();
    const env = parse([], { GIGASTT_HOTWORDS_FILE: "hw.txt", GIGASTT_HOTWORDS_DEFAULT: "1" }, { "hw.txt": FILE });
    expect(env.hotwords!.boost).toBe(5);
    expect(env.hotwords!.phrases.map((p) => p.text)).toContain("Яндекс");
    expect(env.hotwords!.phrases.map((p) => p.text)).toContain("голос");
  });

  test("a missing file, a bad weight or a bad boost exits 2 naming the source", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as { code: string }).code, (e as Error).message];
      }
      return null;
    };
    expect(code(() => parse(["--hotwords-file", "nope.txt"]))).toEqual(["invalid_config", expect.stringContaining("nope.txt")]);
    expect(code(() => parse(["--hotwords-file", "w.txt"], {}, { "w.txt": "голос\tmany\n" }))).toEqual(["invalid_config", expect.stringContaining("w.txt:1")]);
    expect(code(() => parse(["--hotwords-file", "w.txt"], {}, { "w.txt": `${"я".repeat(65)}\n` }))).toEqual(["invalid_config", expect.stringContaining("w.txt:1")]);
    expect(code(() => parse(["--hotwords-boost", "x"]))).toEqual(["usage", expect.stringContaining("--hotwords-boost")]);
    expect(code(() => parse([], { GIGASTT_HOTWORDS_BOOST: "99" }))).toEqual(["usage", expect.stringContaining("GIGASTT_HOTWORDS_BOOST")]);
  });

  test("--hotwords-boost alone warns that it has no effect", () => {
    expect(parse(["--hotwords-boost", "3"]).warnings.some((w) => w.includes("--hotwords-boost has no effect"))).toBe(true);
  });
});
