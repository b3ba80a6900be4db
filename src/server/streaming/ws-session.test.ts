/**
 * WsSession driven through its peer seam (no socket, no server): admission, ready, frames of any
 * size, the final before the close, drain and a client gone while waiting for a slot.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { phraseToAudio } from "../../../test/helpers/tone.ts";
import { closeToneTranscriber, pcm16, toneTranscriber } from "../../../test/server/streaming-helpers.ts";
import { createLogger } from "../../log.ts";
import { createAdmission } from "../admission.ts";
import { parseServeConfig } from "../config.ts";
import { createLifecycle } from "../lifecycle.ts";
import { createMetrics } from "../metrics.ts";
import { type WsPeer, WsSession } from "./ws-session.ts";

afterAll(closeToneTranscriber);

const PHRASE = "привет мир, как дела?";
const config = parseServeConfig(["--port", "0", "--log-level", "silent"], {}, { isTTY: false, cpus: 1 });
const log = createLogger({ level: "silent", format: "json", write: () => {} });

class Peer implements WsPeer {
  readonly messages: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | null = null;
  send(text: string): void {
    this.messages.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  of(type: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.type === type);
  }
}

async function session(opts: { size?: number; admission?: ReturnType<typeof createAdmission>; lifecycle?: ReturnType<typeof createLifecycle> } = {}) {
  const admission = opts.admission ?? createAdmission({ size: opts.size ?? 1, timeoutSecs: () => 30 });
  const lifecycle = opts.lifecycle ?? createLifecycle();
  const peer = new Peer();
  const s = new WsSession(peer, {
    deps: { admission, lifecycle, metrics: createMetrics({ enabled: false }) },
    transcriber: await toneTranscriber(),
    config,
    log,
    id: crypto.randomUUID(),
    sampleRate: 16000,
  });
  s.start();
  return { s, peer, admission, lifecycle };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(10);
};

describe("WsSession through its peer", () => {
  test("ready once admitted; any frame size gives the same finals; stop → final, close 1000, slot back", async () => {
    const bytes = pcm16(phraseToAudio(PHRASE).samples);
    const texts: string[] = [];
    for (const frame of [640, 3201, bytes.length]) {
      const { s, peer, admission } = await session();
      await until(() => peer.of("ready").length === 1);
      expect(peer.of("ready")[0]).toMatchObject({ sample_rate: 16000 });
      expect(admission.inUse).toBe(1);
      for (let i = 0; i < bytes.length; i += frame) s.onMessage(bytes.slice(i, i + frame));
      s.onMessage(JSON.stringify({ type: "stop" }));
      await s.done;
      expect(peer.closed?.code).toBe(1000);
      const finals = peer.of("final");
      expect(finals.length).toBeGreaterThan(0);
      texts.push(finals.map((f) => f.text).join(" ").trim());
      expect(admission.inUse).toBe(0);
    }
    expect(texts).toEqual([PHRASE, PHRASE, PHRASE]);
  });

  test("drain: the final of what was heard, then close 1001", async () => {
    const { s, peer, lifecycle } = await session();
    await until(() => peer.of("ready").length === 1);
    s.onMessage(pcm16(phraseToAudio(PHRASE).samples));
    lifecycle.startDrain();
    await s.done;
    expect(peer.closed?.code).toBe(1001);
    expect(peer.of("final").map((f) => f.text).join(" ").trim()).toBe(PHRASE);
  });

  test("a full pool: the session waits without ready; the client leaving frees nothing it never had", async () => {
    const admission = createAdmission({ size: 1, timeoutSecs: () => 30 });
    const held = await admission.acquire();
    const { s, peer } = await session({ admission });
    await Bun.sleep(50);
    expect(peer.of("ready")).toEqual([]);
    expect(admission.waiting).toBe(1);
    s.onClose(1000, "bye");
    await s.done;
    await until(() => admission.waiting === 0);
    expect(admission.waiting).toBe(0);
    held.release();
    expect(admission.inUse).toBe(0);
  });
});
