/**
 * HE-AAC (issue 12): symphonia-codec-aac 0.5 has no SBR/PS tools; it reads HE-AAC's
 * explicit signalling (AudioSpecificConfig object type 5 or 29 over an AAC-LC core) and
 * decodes the AAC-LC core, skipping the SBR payload (fill elements), at the core rate:
 * the band below the core's Nyquist (≥ 8 kHz for every HE-AAC core of 16 kHz and up),
 * which is all the 16 kHz model uses. Implicit signalling (an LC config with SBR in fill
 * elements, the only form ADTS can carry) is plain AAC-LC to this decoder. Debian's ffmpeg
 * cannot encode HE-AAC, so the files are the AAC-LC fixture with its config rewritten.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StreamInfo } from "../src/audio/decoder.ts";
import { readAudio } from "../src/audio/load.ts";
import { PHRASE } from "./fixtures/formats/make.ts";
import { heAacAsc, packBits, withAsc } from "./helpers/he-aac.ts";
import { closeToneTranscriber, startToneServer, type TestServer } from "./server/streaming-helpers.ts";

// the fixture: AAC-LC 96k, 44.1 kHz mono, moov after mdat
const LC = new Uint8Array(readFileSync(join(import.meta.dir, "fixtures", "formats", "aac-96k.m4a")));

let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer();
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

async function transcribe(bytes: Uint8Array): Promise<{ status: number; body: { text?: string; code?: string; message?: string } }> {
  const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: bytes });
  return { status: r.status, body: (await r.json()) as { text?: string; code?: string; message?: string } };
}

/** the format the decoder reports once it has decoded the start */
async function formatOf(bytes: Uint8Array): Promise<StreamInfo | null> {
  let info: StreamInfo | null = null;
  await readAudio(bytes, { onFormat: (i) => (info = i) });
  return info;
}

test("the rewriting keeps the file: the fixture's own ASC gives the same bytes; a plain AAC-LC one the same transcript", async () => {
  // ffmpeg's: AAC-LC 44.1 kHz mono + the backward-compatible extension saying "no SBR" (sync 0x2b7)
  const own = packBits([[2, 5], [4, 4], [1, 4], [0, 3], [0x2b7, 11], [5, 5], [0, 1]]);
  expect([...own]).toEqual([0x12, 0x08, 0x56, 0xe5, 0x00]);
  expect(withAsc(LC, own)).toEqual(LC);
  const lc = withAsc(LC, packBits([[2, 5], [4, 4], [1, 4], [0, 3]]));
  expect((await transcribe(lc)).body.text).toBe(PHRASE);
});

for (const [aot, name] of [[5, "HE-AAC v1 (SBR)"], [29, "HE-AAC v2 (SBR + PS)"]] as const) {
  test(`${name}, explicit signalling in MP4: the AAC-LC core is decoded at the core rate → the phrase`, async () => {
    const asc = heAacAsc(aot, 44100, 1, 88200);
    expect(asc[0]! >> 3).toBe(aot);
    const he = withAsc(LC, asc);
    expect(he.length).toBe(LC.length - 5 + asc.length);
    const r = await transcribe(he);
    expect({ status: r.status, text: r.body.text }).toEqual({ status: 200, text: PHRASE });
    expect(await formatOf(he)).toMatchObject({ container: "MP4", codec: "AAC", sampleRate: 44100, channels: 1 });
  });
}

test("backward-compatible signalling (an AAC-LC config, then 0x2b7 + SBR present): the same AAC-LC core → the phrase", async () => {
  const asc = packBits([[2, 5], [4, 4], [1, 4], [0, 3], [0x2b7, 11], [5, 5], [1, 1], [1, 4]]);
  const r = await transcribe(withAsc(LC, asc));
  expect({ status: r.status, text: r.body.text }).toEqual({ status: 200, text: PHRASE });
});

test("AAC profiles without an AAC-LC core are refused, named: 415 unsupported_format", async () => {
  for (const [asc, name] of [
    [packBits([[1, 5], [4, 4], [1, 4], [0, 3]]), "AAC Main"],
    [packBits([[31, 5], [42 - 32, 6], [4, 4], [1, 4], [0, 3]]), "xHE-AAC (USAC)"],
  ] as const) {
    const r = await transcribe(withAsc(LC, asc));
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 415, code: "unsupported_format" });
    expect(r.body.message).toContain(`(${name}, object type`);
  }
});
