/**
 * GET /v1/realtime?intent=transcription: OpenAI's transcription-session events
 * over the same session core as /v1/ws (tone model, loopback). The official
 * Python SDK drives it in test/conformance/test_openai_realtime.py.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawRequest, upgradeHeaders } from "./http-helpers.ts";
import { closeToneTranscriber, pcm16, splitBytes, startToneServer, type TestServer, toneAt, WsClient } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "4"]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

const rtUrl = (s: TestServer) => `${s.url.replace("http", "ws")}/v1/realtime?intent=transcription`;
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

function append(c: WsClient, samples: Float32Array, frame = 4800): void {
  for (const f of splitBytes(pcm16(samples), frame)) c.json({ type: "input_audio_buffer.append", audio: b64(f) });
}

async function completed(c: WsClient, n: number, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (c.ofType("conversation.item.input_audio_transcription.completed").length < n && Date.now() < deadline) await Bun.sleep(20);
  return c.ofType("conversation.item.input_audio_transcription.completed").map((m) => (m as unknown as { transcript: string }).transcript);
}

const silence = (sec: number, rate: number) => new Float32Array(Math.round(sec * rate));
function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

describe("transcription session", () => {
  test("session.created, session.update at 24 kHz, server VAD: speech_started → delta… → speech_stopped → committed → completed", async () => {
    const c = new WsClient(rtUrl(srv));
    await c.opened;
    const created = (await c.next("session.created")) as unknown as { session: { type: string; audio: { input: { format: { rate: number } } } } };
    expect(created.session.type).toBe("transcription");
    expect(created.session.audio.input.format.rate).toBe(24000);
    c.json({ type: "session.update", session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 24000 }, turn_detection: { type: "server_vad", silence_duration_ms: 500 } } } } });
    const updated = (await c.next("session.updated")) as unknown as { session: { audio: { input: { turn_detection: { silence_duration_ms: number } } } } };
    expect(updated.session.audio.input.turn_detection.silence_duration_ms).toBe(500);
    append(c, concat(toneAt(PHRASE, 24000), silence(1.2, 24000)));
    expect(await completed(c, 1)).toEqual([PHRASE]);
    const types = c.messages.map((m) => m.type).filter((t) => t.startsWith("input_audio_buffer") || t.startsWith("conversation"));
    expect(types[0]).toBe("input_audio_buffer.speech_started");
    const at = (t: string) => types.indexOf(t);
    expect(at("input_audio_buffer.speech_stopped")).toBeGreaterThan(0);
    expect(at("input_audio_buffer.committed")).toBeGreaterThan(at("input_audio_buffer.speech_stopped"));
    expect(types.at(-1)).toBe("conversation.item.input_audio_transcription.completed");
    const deltas = c.ofType("conversation.item.input_audio_transcription.delta").map((m) => (m as unknown as { delta: string }).delta);
    expect(deltas.join("")).toBe(PHRASE); // partials arrive as appended text
    for (const m of c.messages) expect(typeof (m as unknown as { event_id: string }).event_id).toBe("string");
    c.close();
  });

  test("the silence duration is honoured: a 300 ms gap splits at 200 ms, not at 1000 ms", async () => {
    const audio = concat(toneAt("привет мир", 16000), silence(0.3, 16000), toneAt("как дела?", 16000), silence(1.5, 16000));
    const run = async (ms: number) => {
      const c = new WsClient(rtUrl(srv));
      await c.opened;
      c.json({ type: "transcription_session.update", session: { input_audio_format: "pcm16", turn_detection: { type: "server_vad", silence_duration_ms: ms } } });
      c.json({ type: "session.update", session: { audio: { input: { format: { type: "audio/pcm", rate: 16000 } } } } });
      await c.next("session.updated");
      expect(c.ofType("transcription_session.updated")).toHaveLength(1);
      append(c, audio, 3200);
      c.json({ type: "input_audio_buffer.commit" });
      const n = ms === 200 ? 2 : 1;
      const got = await completed(c, n);
      await Bun.sleep(300);
      c.close();
      return [got, c.ofType("conversation.item.input_audio_transcription.completed").length] as const;
    };
    const [short] = await run(200);
    expect(short).toEqual(["привет мир", "как дела?"]);
    const [long, count] = await run(1000);
    expect(long).toEqual(["привет мир как дела?"]);
    expect(count).toBe(1);
  });

  test("turn_detection null: nothing until commit; clear drops the buffer; an empty commit is an OpenAI-shaped error", async () => {
    const c = new WsClient(rtUrl(srv));
    await c.opened;
    c.json({ type: "session.update", session: { audio: { input: { format: { type: "audio/pcm", rate: 16000 }, turn_detection: null } } } });
    await c.next("session.updated");
    append(c, concat(toneAt("привет", 16000), silence(1.5, 16000)), 3200);
    c.json({ type: "input_audio_buffer.clear" });
    await c.next("input_audio_buffer.cleared");
    c.json({ type: "input_audio_buffer.commit", event_id: "evt_client_1" });
    const err = (await c.next("error")) as unknown as { error: { type: string; code: string; message: string; event_id: string } };
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "input_audio_buffer_commit_empty", event_id: "evt_client_1" });
    append(c, concat(toneAt("как дела?", 16000), silence(1.5, 16000)), 3200);
    await Bun.sleep(300);
    expect(c.ofType("conversation.item.input_audio_transcription.completed")).toHaveLength(0);
    c.json({ type: "input_audio_buffer.commit" });
    expect(await completed(c, 1)).toEqual(["как дела?"]);
    c.json({ type: "no.such.event" });
    const unknown = c.ofType("error");
    await c.next("error", 5000, c.messages.indexOf(unknown.at(-1)!) + 1);
    expect((c.ofType("error").at(-1) as unknown as { error: { code: string } }).error.code).toBe("unknown_event");
    c.close();
  });

  test("raw frames: a deeply nested event and a binary frame get OpenAI errors; the session goes on", async () => {
    const c = new WsClient(rtUrl(srv));
    await c.opened;
    await c.next("session.created");
    c.send("[".repeat(5000) + "]".repeat(5000));
    c.send(new Uint8Array([1, 2, 3, 4]));
    const until = Date.now() + 5000;
    while (c.ofType("error").length < 2 && Date.now() < until) await Bun.sleep(20);
    expect(c.ofType("error").map((e) => (e as unknown as { error: { code: string } }).error.code)).toEqual(["invalid_json", "binary_not_supported"]);
    c.json({ type: "session.update", session: { audio: { input: { format: { type: "audio/pcm", rate: 16000 } } } } });
    await c.next("session.updated");
    c.close();
  });

  test("another intent (or none) is refused at the upgrade with 400", async () => {
    for (const path of ["/v1/realtime", "/v1/realtime?intent=conversation"]) {
      const r = await rawRequest(srv.server.port, { path, headers: upgradeHeaders() });
      expect(r.status).toBe(400);
    }
  });

  test("drain: the open utterance's completed arrives before the close", async () => {
    const own = await startToneServer(["--shutdown-drain-secs", "5"]);
    const c = new WsClient(rtUrl(own));
    await c.opened;
    await c.next("session.created");
    c.json({ type: "session.update", session: { audio: { input: { format: { type: "audio/pcm", rate: 16000 }, turn_detection: null } } } });
    await c.next("session.updated");
    append(c, toneAt(PHRASE, 16000), 3200);
    await Bun.sleep(200);
    const drained = own.server.drain();
    const closed = await c.closed;
    await drained;
    expect(closed.code).toBe(1001);
    expect(await completed(c, 1, 100)).toEqual([PHRASE]);
  });

  test("with API keys: refused without one, admitted with the Authorization header", async () => {
    const own = await startToneServer(["--api-key", "rt-key-0123456789"]);
    try {
      const r = await rawRequest(own.server.port, { path: "/v1/realtime?intent=transcription", headers: upgradeHeaders() });
      expect(r.status).toBe(401);
      const c = new WsClient(rtUrl(own), { authorization: "Bearer rt-key-0123456789" });
      await c.opened;
      await c.next("session.created");
      c.close();
    } finally {
      await own.stop();
    }
  });
});
