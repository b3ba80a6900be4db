/**
 * Model folders a Rust gigastt filled, generated from the tone model with its
 * files renamed: the lean INT8 e2e_rnnt set is used as it is (no 885 MB fetch,
 * transcripts from it), the rnnt head and the multilingual CTC packs are named
 * in one message (a warning before the download, or in the offline error).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Transcriber } from "../../src/engine/transcriber.ts";
import { ensureModel } from "../../src/store/ensure.ts";
import { parseManifest } from "../../src/store/catalog.ts";
import type { HfTestServer } from "../helpers/hf-server.ts";
import { makeToneModelDir, phraseToAudio } from "../helpers/tone.ts";
import { env, expectInstalled, failure, fastNet, startServer } from "./fixtures.ts";

const quiet = { stderr: () => {}, tty: false } as const;

/** the tone model with Rust's lean e2e names: the encoder as `v3_e2e_rnnt_encoder_int8.onnx` */
function leanE2eFolder(): string {
  const dir = makeToneModelDir();
  renameSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), join(dir, "v3_e2e_rnnt_encoder_int8.onnx"));
  return dir;
}

/** the tone model's files under the names of Rust's default rnnt head (lean set) */
function rnntFolder(): string {
  const dir = makeToneModelDir();
  renameSync(join(dir, "v3_e2e_rnnt_encoder.onnx"), join(dir, "v3_rnnt_encoder_int8.onnx"));
  renameSync(join(dir, "v3_e2e_rnnt_decoder.onnx"), join(dir, "v3_rnnt_decoder.onnx"));
  renameSync(join(dir, "v3_e2e_rnnt_joint.onnx"), join(dir, "v3_rnnt_joint.onnx"));
  renameSync(join(dir, "v3_e2e_rnnt_vocab.txt"), join(dir, "v3_vocab.txt"));
  return dir;
}

describe("the Rust lean INT8 e2e_rnnt set", () => {
  test("fp32 (the default), offline: its int8 encoder runs with the fp32 decoder and joint; one warning; nothing fetched", async () => {
    const dir = leanE2eFolder();
    const warnings: string[] = [];
    const files = await ensureModel({ modelDir: dir, precision: "fp32", offline: true, env: {}, tty: false, stderr: (s) => void warnings.push(s) });
    expect(basename(files.encoder)).toBe("v3_e2e_rnnt_encoder_int8.onnx");
    expect(basename(files.decoder)).toBe("v3_e2e_rnnt_decoder.onnx");
    expect(basename(files.joint)).toBe("v3_e2e_rnnt_joint.onnx");
    expect(files.precision).toBe("int8");
    expect(warnings.join("")).toContain("holds the int8 encoder v3_e2e_rnnt_encoder_int8.onnx without the fp32 one (the Rust gigastt's lean set)");
    expect(existsSync(join(dir, "v3_e2e_rnnt_encoder.onnx"))).toBe(false);
    const t = await Transcriber.fromFiles(files, { workers: 1 });
    try {
      expect((await t.transcribe(phraseToAudio("привет мир").samples)).text).toBe("привет мир");
    } finally {
      await t.close();
    }
  });

  test("with the int8 decoder and joint there too, the int8 graphs are used", async () => {
    const dir = leanE2eFolder();
    const { copyFileSync } = await import("node:fs");
    copyFileSync(join(dir, "v3_e2e_rnnt_decoder.onnx"), join(dir, "v3_e2e_rnnt_decoder.int8.onnx"));
    copyFileSync(join(dir, "v3_e2e_rnnt_joint.onnx"), join(dir, "v3_e2e_rnnt_joint.int8.onnx"));
    const files = await ensureModel({ modelDir: dir, precision: "fp32", offline: true, env: {}, ...quiet });
    expect([files.encoder, files.decoder, files.joint].map((p) => basename(p))).toEqual(["v3_e2e_rnnt_encoder_int8.onnx", "v3_e2e_rnnt_decoder.int8.onnx", "v3_e2e_rnnt_joint.int8.onnx"]);
  });

  test("--precision int8 offline uses it too (its fp32 decoder and joint in place of the int8 ones)", async () => {
    const files = await ensureModel({ modelDir: leanE2eFolder(), precision: "int8", offline: true, env: {}, ...quiet });
    expect([files.encoder, files.decoder].map((p) => basename(p))).toEqual(["v3_e2e_rnnt_encoder_int8.onnx", "v3_e2e_rnnt_decoder.onnx"]);
  });
});

describe("other Rust heads", () => {
  test("the rnnt head, offline: exit-4 offline error that names it and says what to download", async () => {
    const dir = rnntFolder();
    const e = await failure(ensureModel({ modelDir: dir, precision: "fp32", offline: true, env: {}, ...quiet }));
    expect(e.code).toBe("offline");
    expect(e.message).toContain(`${dir} holds the Rust gigastt's rnnt head (GigaAM v3 RNN-T, Rust's default head, lowercase text without punctuation: v3_rnnt_encoder_int8.onnx, v3_rnnt_decoder.onnx, v3_rnnt_joint.onnx, v3_vocab.txt), which this server does not run`);
    expect(e.message).toContain("it runs GigaAM v3 e2e_rnnt");
    expect(e.message).toContain("`gigastt download`");
    expect(e.message).toContain("--model-variant e2e_rnnt");
    // the store's own listing of what is missing follows
    expect(e.message).toContain("v3_e2e_rnnt_encoder.onnx");
  });

  test("the multilingual CTC pack is named too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gigastt-mlctc-"));
    writeFileSync(join(dir, "multilingual_ctc.int8.onnx"), "x");
    writeFileSync(join(dir, "multilingual_vocab.txt"), "x");
    const e = await failure(ensureModel({ modelDir: dir, precision: "int8", offline: true, env: {}, ...quiet }));
    expect(e.message).toContain("holds the Rust gigastt's ml_ctc head (GigaAM Multilingual CTC 220M, ru/en/kk/ky/uz: multilingual_ctc.int8.onnx, multilingual_vocab.txt)");
  });

  describe("online", () => {
    let server: HfTestServer;
    beforeAll(async () => {
      server = await startServer();
    });
    afterAll(async () => {
      await server.close();
    });
    test("the rnnt head: one warning naming it, then the e2e_rnnt head is downloaded beside it (the Rust files stay)", async () => {
      const dir = rnntFolder();
      const out: string[] = [];
      const files = await ensureModel({ modelDir: dir, precision: "fp32", catalog: parseManifest(JSON.stringify(server.manifest()), "m"), env: env(server), net: fastNet(), tty: false, stderr: (s) => void out.push(s) });
      expect(basename(files.encoder)).toBe("v3_e2e_rnnt_encoder.onnx");
      expectInstalled(dir, server);
      expect(out.filter((l) => l.includes("holds the Rust gigastt's rnnt head")).length).toBe(1);
      expect(out.join("")).toContain("downloading the e2e_rnnt head now");
      expect(existsSync(join(dir, "v3_rnnt_encoder_int8.onnx"))).toBe(true);
    });
  });
});
