/** Shared setup for the store suites: generated model files, a test server, fast network policy. */
import { expect } from "bun:test";
import { type GigasttError, isGigasttError } from "../../src/errors.ts";
import { mkdtempSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NetOptions } from "../../src/store/download.ts";
import { readLock } from "../../src/store/lockfile.ts";
import { HfTestServer, generatedBytes } from "../helpers/hf-server.ts";

export const NAMES = {
  encoder: "v3_e2e_rnnt_encoder.onnx",
  decoder: "v3_e2e_rnnt_decoder.onnx",
  joint: "v3_e2e_rnnt_joint.onnx",
  vocab: "v3_e2e_rnnt_vocab.txt",
} as const;

export function modelFiles(encoderBytes = 600_000): Record<string, Uint8Array> {
  const vocab = Array.from({ length: 1025 }, (_, i) => (i === 1024 ? "<blk> 1024" : `▁p${i} ${i}`)).join("\n");
  return {
    [NAMES.encoder]: generatedBytes(encoderBytes, 1),
    [NAMES.decoder]: generatedBytes(50_000, 2),
    [NAMES.joint]: generatedBytes(30_000, 3),
    [NAMES.vocab]: new TextEncoder().encode(`${vocab}\n`),
  };
}

export async function startServer(encoderBytes?: number): Promise<HfTestServer> {
  return HfTestServer.start({ files: modelFiles(encoderBytes) });
}

export function tempDir(prefix = "gigastt-store-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Waits {
  readonly waits: number[];
}

/** Short timeouts, no real sleeping between retries (waits are recorded instead). */
export function fastNet(over: Partial<NetOptions> = {}): NetOptions & Waits {
  const waits: number[] = [];
  return {
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 400,
    retryBudgetMs: 60_000,
    backoffBaseMs: 1_000,
    backoffMaxMs: 16_000,
    maxRedirects: 10,
    random: () => 0.5,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
    waits,
    ...over,
  };
}

/** Every catalog file present in `dir` holds exactly the served bytes, is locked with its hash, and no partial is left. */
export function expectInstalled(dir: string, server: HfTestServer, names: string[] = [...server.files.keys()]): void {
  const lock = readLock(dir);
  expect(lock).not.toBeNull();
  for (const name of names) {
    const want = server.files.get(name)!;
    const got = readFileSync(join(dir, name));
    expect(got.length).toBe(want.length);
    expect(Buffer.compare(got, Buffer.from(want))).toBe(0);
    expect(lock!.files[name]).toEqual({ size: want.length, sha256: server.sha256(name) });
    expect(existsSync(join(dir, `${name}.partial`))).toBe(false);
  }
}

/** Nothing under a catalog name unless it is byte-identical to the served file. */
export function expectNothingCorrupt(dir: string, server: HfTestServer): void {
  for (const n of readdirSync(dir)) {
    const want = server.files.get(n);
    if (!want) continue;
    expect(Buffer.compare(readFileSync(join(dir, n)), Buffer.from(want))).toBe(0);
  }
}

export function env(server: HfTestServer, extra: Record<string, string> = {}): Record<string, string> {
  return { HF_ENDPOINT: server.url, HOME: tmpdir(), ...extra };
}

/** The typed error a promise rejects with (anything else fails the test). */
export async function failure(p: Promise<unknown>): Promise<GigasttError> {
  try {
    await p;
  } catch (e) {
    if (isGigasttError(e)) return e;
    throw e;
  }
  throw new Error("expected a failure");
}
