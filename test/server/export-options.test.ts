/**
 * The Rust gigastt's query options of the file routes, each through a real socket with the
 * tone model: `format` (txt/md and aliases, any case; `invalid_format`), `download`
 * (RFC 6266), `max_chars_per_line` / `max_words_per_line`, `word_timestamps`, `segments`,
 * top-level and SSE `confidence`, `codec` + `sample_rate` (pcmu, pcma, g722), and the
 * capability checks `punctuation` / `itn` / `variant` / `diarization` (+ `channels=split`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PHRASE as TONE_PHRASE, RAW_FIXTURES } from "../fixtures/formats/make.ts";
import { closeToneTranscriber, parseSse, phraseToAudio, startToneServer, type TestServer, wavBytes } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела? это тест один два три да.";
const wav = wavBytes(phraseToAudio(PHRASE).samples, 16000);
const FIX = join(import.meta.dir, "..", "fixtures", "formats");

let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer(["--enable-jobs", "--jobs-dir", mkdtempSync(join(tmpdir(), "gigastt-export-jobs-"))]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

const post = (query: string, body: Uint8Array = wav, path = "/v1/transcribe") => fetch(`${srv.url}${path}${query}`, { method: "POST", body });

async function refused(query: string, status: number, code: string, path = "/v1/transcribe"): Promise<string> {
  const r = await post(query, wav, path);
  const body = (await r.json()) as { code: string; message: string };
  expect(`${query} → ${r.status} ${body.code}`).toBe(`${query} → ${status} ${code}`);
  return body.message;
}

interface JsonBody {
  text: string;
  confidence?: number;
  words: { word: string; start: number; end: number; confidence: number }[];
  segments: { start: number; end: number; text: string; words?: { word: string }[] }[];
}

describe("format", () => {
  test("txt, text, TXT: the text and a newline, text/plain", async () => {
    for (const f of ["txt", "text", "TXT", "Text"]) {
      const r = await post(`?format=${f}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await r.text()).toBe(`${PHRASE}\n`);
    }
  });

  test("md, markdown, MD: front matter and # Transcript, text/markdown; JSON and SRT in capitals too", async () => {
    for (const f of ["md", "markdown", "MD"]) {
      const r = await post(`?format=${f}`);
      expect(r.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
      const md = await r.text();
      expect(md).toMatch(/^---\nduration: [\d.]+\nlanguage: ru\nspeakers: 0\n---\n\n# Transcript\n\n/);
      expect(md).toContain(`# Transcript\n\n${PHRASE}\n\n`);
    }
    expect((await post("?format=JSON")).headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await (await post("?format=SRT")).text()).toStartWith("1\n00:00:");
    expect((await post("?response_format=markdown")).headers.get("content-type")).toBe("text/markdown; charset=utf-8");
  });

  test("anything else → 400 invalid_format naming the accepted ones, before the upload is read", async () => {
    const msg = await refused("?format=docx", 400, "invalid_format");
    expect(msg).toContain("json, txt (text), srt, vtt or md (markdown)");
    await refused("?response_format=verbose_json", 400, "invalid_format");
  });
});

describe("download", () => {
  test("download= (empty): attachment transcript.<ext>; a name: RFC 6266 with filename* for Cyrillic; none: no header", async () => {
    const srt = await post("?format=srt&download=");
    expect(srt.headers.get("content-disposition")).toBe(`attachment; filename="transcript.srt"; filename*=UTF-8''transcript.srt`);
    const named = await post(`?format=txt&download=${encodeURIComponent("звонок 7.txt")}`);
    expect(named.headers.get("content-disposition")).toBe(`attachment; filename="______ 7.txt"; filename*=UTF-8''%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA%207.txt`);
    expect(await named.text()).toBe(`${PHRASE}\n`);
    const json = await post("?download=");
    expect(json.headers.get("content-disposition")).toBe(`attachment; filename="transcript.json"; filename*=UTF-8''transcript.json`);
    expect((await post("?format=srt")).headers.get("content-disposition")).toBeNull();
  });

  test("a name over 255 characters → 400 usage", async () => {
    expect(await refused(`?download=${"я".repeat(256)}`, 400, "usage")).toContain("255");
    expect((await post(`?format=txt&download=${"я".repeat(255)}`)).status).toBe(200);
  });

  test("a name with quotes and a semicolon cannot add a parameter", async () => {
    const r = await post(`?format=vtt&download=${encodeURIComponent('a"; filename=evil.exe')}`);
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="a_; filename=evil.exe"; filename*=UTF-8''a%22%3B%20filename%3Devil.exe`);
  });
});

describe("line limits, segments, word timestamps, confidence", () => {
  const cues = (srt: string) => srt.split("\n\n").filter(Boolean).map((b) => b.split("\n").slice(2).join(" "));

  test("max_words_per_line / max_chars_per_line cut the SRT and VTT cues; 0 is no limit; the default is 80/14", async () => {
    // the tone phrase: "привет мир, как дела?" | "это тест один два три да." (a sentence end cuts anyway)
    expect(cues(await (await post("?format=srt")).text())).toEqual(["привет мир, как дела?", "это тест один два три да."]);
    expect(cues(await (await post("?format=srt&max_words_per_line=2")).text())).toEqual(["привет мир,", "как дела?", "это тест", "один два", "три да."]);
    expect(cues(await (await post("?format=srt&max_chars_per_line=12&max_words_per_line=0")).text())).toEqual(["привет мир,", "как дела?", "это тест", "один два три", "да."]);
    expect(cues(await (await post("?format=srt&max_words_per_line=0&max_chars_per_line=0")).text())).toEqual(["привет мир, как дела?", "это тест один два три да."]);
    const vtt = await (await post("?format=vtt&max_words_per_line=3")).text();
    expect(vtt.split("-->").length - 1).toBe(4);
  });

  test("bad limits → 400 usage naming the option", async () => {
    for (const q of ["?max_chars_per_line=-1", "?max_words_per_line=abc", "?max_words_per_line=1.5"]) expect(await refused(q, 400, "usage")).toContain(q.slice(1, q.indexOf("=")));
  });

  test("json: top-level confidence = the words' duration-weighted mean; segments=true gives each segment its words", async () => {
    const plain = (await (await post("")).json()) as JsonBody;
    expect(Object.keys(plain).sort()).toEqual(["confidence", "duration", "segments", "text", "words"]);
    const w = plain.words.map((x) => Math.max(0.001, x.end - x.start));
    const mean = plain.words.reduce((a, x, i) => a + x.confidence * w[i]!, 0) / w.reduce((a, b) => a + b, 0);
    expect(plain.confidence!).toBeCloseTo(mean, 3);
    expect(plain.confidence!).toBeGreaterThan(0);
    expect(plain.confidence!).toBeLessThanOrEqual(1);
    expect(plain.segments.every((s) => s.words === undefined)).toBe(true);
    const seg = (await (await post("?segments=true&max_words_per_line=3")).json()) as JsonBody;
    expect(seg.segments.map((s) => s.words!.map((x) => x.word).join(" "))).toEqual(seg.segments.map((s) => s.text));
    expect(seg.segments.flatMap((s) => s.words!.map((x) => x.word))).toEqual(seg.words.map((x) => x.word));
    expect(seg.segments.length).toBe(4);
  });

  test("md: segments=true gives ### [mm:ss] sections; word_timestamps the word table", async () => {
    const md = await (await post("?format=md&segments=true")).text();
    expect(md).toContain("### [00:00]\n\nпривет мир, как дела?\n\n");
    expect(md).toMatch(/### \[00:0\d\]\n\nэто тест один два три да\.\n\n$/);
    expect(md).not.toContain("# Transcript");
    const table = await (await post("?format=md&word_timestamps=true")).text();
    expect(table).toContain("# Word timings\n\n| Word | Start | End | Confidence | Speaker |\n");
    expect(table.match(/^\| \S+ \| \d+\.\d{3}s \| \d+\.\d{3}s \| [01]\.\d{3} \| - \|$/gm)?.length).toBe(10);
    await refused("?segments=maybe", 400, "usage");
    await refused("?word_timestamps=2", 400, "usage");
  });

  test("SSE: each final carries its words' confidence, done the whole transcript's", async () => {
    const r = await post("", wav, "/v1/transcribe/stream");
    const events = parseSse(await r.text()).events as { type: string; confidence?: number; words?: { confidence: number }[] }[];
    const finals = events.filter((e) => e.type === "final");
    expect(finals.length).toBeGreaterThan(0);
    for (const f of finals) {
      expect(f.confidence!).toBeGreaterThan(0);
      expect(f.confidence!).toBeLessThanOrEqual(1);
    }
    const json = (await (await post("")).json()) as JsonBody;
    expect(events.at(-1)).toMatchObject({ type: "done", confidence: json.confidence });
  });
});

describe("codec + sample_rate: headerless telephone audio", () => {
  for (const [name, { codec, rate }] of Object.entries(RAW_FIXTURES)) {
    test(`${name}: codec=${codec}&sample_rate=${rate} on REST, SSE and jobs`, async () => {
      const bytes = new Uint8Array(readFileSync(join(FIX, name)));
      const q = `?codec=${codec.toUpperCase()}&sample_rate=${rate}&format=txt`;
      const rest = await post(q, bytes);
      expect(rest.status).toBe(200);
      expect((await rest.text()).trim()).toBe(TONE_PHRASE);
      const sse = parseSse(await (await post(q, bytes, "/v1/transcribe/stream")).text()).events as { type: string; text: string }[];
      expect(sse.at(-1)).toMatchObject({ type: "done", text: TONE_PHRASE });
      const job = (await (await post(q, bytes, "/v1/jobs")).json()) as { job_id: string };
      for (let i = 0; ; i++) {
        const r = await fetch(`${srv.url}/v1/jobs/${job.job_id}/result`);
        if (r.status === 200) {
          expect((await r.text()).trim()).toBe(TONE_PHRASE);
          break;
        }
        if (i > 500) throw new Error(`job not done: ${r.status}`);
        await Bun.sleep(20);
      }
    });
  }

  test("an empty body with a codec is still 400 empty_body; a byte of it is too short", async () => {
    for (const path of ["/v1/transcribe", "/v1/transcribe/stream"]) {
      const r = await post("?codec=pcmu&sample_rate=8000", new Uint8Array(0), path);
      expect(`${path} ${r.status} ${((await r.json()) as { code: string }).code}`).toBe(`${path} 400 empty_body`);
    }
    const one = await post("?codec=g722&sample_rate=16000", new Uint8Array([0x7f]));
    expect(`${one.status} ${((await one.json()) as { code: string }).code}`).toBe("422 audio_too_short");
  });

  test("without codec the same bytes are not audio (the hint is needed)", async () => {
    expect((await post("", new Uint8Array(readFileSync(join(FIX, "pcmu-8k.raw"))))).status).toBe(422);
  });

  test("unknown codec → 400 unsupported_codec; missing or wrong rate → 400 invalid_sample_rate", async () => {
    expect(await refused("?codec=opus&sample_rate=8000", 400, "unsupported_codec")).toContain("pcmu (ulaw), pcma (alaw), g722");
    expect(await refused("?codec=pcmu", 400, "invalid_sample_rate")).toContain("sample_rate is required");
    await refused("?codec=pcma&sample_rate=96000", 400, "invalid_sample_rate");
    await refused("?codec=g722&sample_rate=44100", 400, "invalid_sample_rate");
    await refused("?codec=ulaw&sample_rate=8000x", 400, "invalid_sample_rate", "/v1/transcribe/stream");
  });
});

describe("capabilities: punctuation, itn, variant, diarization", () => {
  test("punctuation=true → 409 punctuation_not_available (e2e_rnnt punctuates itself, as Rust answers for it); false and itn keep the model's output", async () => {
    expect(await refused("?punctuation=true", 409, "punctuation_not_available")).toContain("punctuates");
    for (const q of ["?punctuation=false", "?itn=true", "?itn=false", "?punctuation=false&itn=true"]) {
      const r = await post(`${q}&format=txt`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(`${PHRASE}\n`);
    }
    await refused("?itn=perhaps", 400, "usage");
  });

  test("variant: e2e_rnnt (any case, - or _) proceeds; another head → 409 variant_not_loaded", async () => {
    for (const v of ["e2e_rnnt", "E2E-RNNT"]) expect((await post(`?variant=${v}`)).status).toBe(200);
    for (const v of ["rnnt", "ml_ctc", "x"]) expect(await refused(`?variant=${v}`, 409, "variant_not_loaded")).toContain("e2e_rnnt");
  });

  test("diarization=true with channels=split → 400 conflicting_modes; alone → 409 diarization_not_available; false is fine", async () => {
    await refused("?channels=split&diarization=true", 400, "conflicting_modes");
    await refused("?channels=split&diarization=true", 400, "conflicting_modes", "/v1/transcribe/stream");
    await refused("?channels=split&diarization=true", 400, "conflicting_modes", "/v1/jobs");
    expect(await refused("?diarization=true", 409, "diarization_not_available")).toContain("channels=split");
    expect((await post("?diarization=false")).status).toBe(200);
  });
});

describe("jobs: the submission's rendering options are the result's defaults", () => {
  test("format=md&segments=true&download= on submit; the result query can replace them", async () => {
    const job = (await (await post("?format=md&segments=true&download=call.md", wav, "/v1/jobs")).json()) as { job_id: string };
    let r: Response;
    for (let i = 0; ; i++) {
      r = await fetch(`${srv.url}/v1/jobs/${job.job_id}/result`);
      if (r.status === 200 || i > 500) break;
      await Bun.sleep(20);
    }
    expect(r.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="call.md"; filename*=UTF-8''call.md`);
    expect(await r.text()).toContain("### [00:00]\n\nпривет мир, как дела?\n\n");
    const srt = await fetch(`${srv.url}/v1/jobs/${job.job_id}/result?format=srt&max_words_per_line=2`);
    expect(srt.headers.get("content-disposition")).toBeNull();
    expect((await srt.text()).split("-->").length - 1).toBe(5);
    expect((await fetch(`${srv.url}/v1/jobs/${job.job_id}/result?format=pdf`)).status).toBe(400);
  });
});
