import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, isGigasttError, serializeError } from "../errors.ts";
import { bundleHash, extractNative, isExtracted, type NativeBundle, NativeLoadError, RUNTIME_DIR_ENV, runtimeRoots } from "./native.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function fixture(sizes: Record<string, number> = { "addon.node": 3000, "libdep.so.1": 70_000 }): { bundle: NativeBundle; base: string } {
  const base = mkdtempSync(join(tmpdir(), "native-test-"));
  const src = join(base, "embedded");
  mkdirSync(src);
  const files = Object.entries(sizes).map(([name, size], k) => {
    const bytes = new Uint8Array(size).map((_, i) => (i * 31 + k * 7) & 0xff);
    writeFileSync(join(src, name), bytes);
    return { name, path: join(src, name), sha256: sha(bytes), size };
  });
  return { base, bundle: { id: `ort-test-${bundleHash(files)}`, addon: Object.keys(sizes)[0]!, files } };
}

describe("runtimeRoots", () => {
  test("GIGASTT_RUNTIME_DIR, then XDG_CACHE_HOME, then HOME; empty or relative values are skipped", () => {
    expect(runtimeRoots({ [RUNTIME_DIR_ENV]: "/r", XDG_CACHE_HOME: "/x", HOME: "/h" })).toEqual(["/r", "/x/gigastt/runtime", "/h/.cache/gigastt/runtime"]);
    expect(runtimeRoots({ XDG_CACHE_HOME: "", HOME: "/h" })).toEqual(["/h/.cache/gigastt/runtime"]);
    expect(runtimeRoots({ XDG_CACHE_HOME: "rel/cache", HOME: "" })).toEqual([]);
    expect(runtimeRoots({})).toEqual([]);
  });
});

describe("extractNative", () => {
  test("writes every file into $XDG_CACHE_HOME/gigastt/runtime/<id> (0700), verified, and reuses it", () => {
    const { base, bundle } = fixture();
    const env = { XDG_CACHE_HOME: join(base, "xdg"), HOME: join(base, "home") };
    const dir = extractNative(bundle, { env });
    expect(dir).toBe(join(base, "xdg", "gigastt", "runtime", bundle.id));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of bundle.files) expect(sha(readFileSync(join(dir, f.name)))).toBe(f.sha256);
    expect(readdirSync(dir).sort()).toEqual(bundle.files.map((f) => f.name).sort()); // no temp leftovers
    const ino = statSync(join(dir, "libdep.so.1")).ino;
    expect(extractNative(bundle, { env })).toBe(dir);
    expect(statSync(join(dir, "libdep.so.1")).ino).toBe(ino); // not rewritten
  });

  test("a damaged cached file is replaced by a verified copy", () => {
    const { base, bundle } = fixture();
    const env = { HOME: join(base, "home") };
    const dir = extractNative(bundle, { env });
    writeFileSync(join(dir, "libdep.so.1"), new Uint8Array(70_000)); // same size, wrong bytes
    expect(isExtracted(dir, bundle)).toBe(false);
    expect(extractNative(bundle, { env })).toBe(dir);
    expect(isExtracted(dir, bundle)).toBe(true);
  });

  test("an unusable XDG_CACHE_HOME or HOME falls through to the next folder", () => {
    const { base, bundle } = fixture();
    writeFileSync(join(base, "not-a-dir"), "x");
    const dir = extractNative(bundle, { env: { XDG_CACHE_HOME: join(base, "not-a-dir"), HOME: join(base, "home") } });
    expect(dir).toBe(join(base, "home", ".cache", "gigastt", "runtime", bundle.id));
  });

  test("no usable HOME: a private folder under the temp dir, reused by the next run", () => {
    const { base, bundle } = fixture();
    const tmp = join(base, "tmp");
    mkdirSync(tmp);
    writeFileSync(join(base, "home-file"), "x");
    const dir = extractNative(bundle, { env: { HOME: join(base, "home-file") }, tmpdir: () => tmp });
    const root = join(dir, "..");
    expect(root.startsWith(tmp)).toBe(true);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(isExtracted(dir, bundle)).toBe(true);
    expect(extractNative(bundle, { env: {}, tmpdir: () => tmp })).toBe(dir);
  });

  test("a shared temp folder that is not private (mode 0777) is not trusted: a fresh mkdtemp folder is used", () => {
    const { base, bundle } = fixture();
    const tmp = join(base, "tmp");
    mkdirSync(tmp);
    const uid = process.getuid!();
    const planted = join(tmp, `gigastt-runtime-${uid}`);
    mkdirSync(planted);
    chmodSync(planted, 0o777);
    const dir = extractNative(bundle, { env: {}, tmpdir: () => tmp });
    expect(dir.startsWith(planted)).toBe(false);
    expect(dir.startsWith(join(tmp, "gigastt-runtime-"))).toBe(true);
    expect(statSync(join(dir, "..")).mode & 0o777).toBe(0o700);
    expect(readdirSync(planted)).toEqual([]);
  });

  test("a folder whose files cannot be used (dlopen fails: noexec) falls through to the next one", () => {
    const { base, bundle } = fixture();
    const home = join(base, "home");
    const xdg = join(base, "xdg");
    const tried: string[] = [];
    const dir = extractNative(bundle, {
      env: { XDG_CACHE_HOME: xdg, HOME: home },
      use: (d) => {
        tried.push(d);
        if (d.startsWith(xdg)) throw new Error(`${d}/addon.node: failed to map segment from shared object\nmore`);
      },
    });
    expect(tried).toEqual([join(xdg, "gigastt", "runtime", bundle.id), join(home, ".cache", "gigastt", "runtime", bundle.id)]);
    expect(dir).toBe(tried[1]!);
  });

  test("no folder works: runtime_unavailable (exit 1) naming each folder and why, typed across a Worker boundary", () => {
    const { base, bundle } = fixture();
    writeFileSync(join(base, "file"), "x");
    const notDir = join(base, "file");
    let err: unknown;
    try {
      extractNative(bundle, { env: { HOME: notDir }, tmpdir: () => notDir, use: () => {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeLoadError);
    expect(isGigasttError(err)).toBe(true);
    const e = err as NativeLoadError;
    expect(e.code).toBe("runtime_unavailable");
    expect(e.exitCode).toBe(EXIT.runtime);
    expect(e.message).toContain(`${join(notDir, ".cache", "gigastt", "runtime", bundle.id)}: ENOTDIR`);
    expect(e.message).toContain(`set ${RUNTIME_DIR_ENV} to a writable folder that allows executables`);
    expect(serializeError(e)).toMatchObject({ code: "runtime_unavailable", message: e.message });
    // a folder that extracts fine but cannot be loaded is reported with the loader's first line;
    // the fresh mkdtemp folder tried last is removed again
    const home = join(base, "home");
    const tmp = join(base, "tmp");
    mkdirSync(tmp);
    expect(() =>
      extractNative(bundle, {
        env: { HOME: home },
        tmpdir: () => tmp,
        use: () => {
          throw new Error("dlopen: failed to map segment from shared object\nsecond line");
        },
      }),
    ).toThrow(`${join(home, ".cache", "gigastt", "runtime", bundle.id)}: dlopen: failed to map segment from shared object;`);
    expect(readdirSync(tmp)).toEqual([`gigastt-runtime-${process.getuid!()}`]);
  });

  test("a corrupt embedded file is refused with a clear error, nothing is left behind", () => {
    const { base, bundle } = fixture();
    writeFileSync(bundle.files[1]!.path, new Uint8Array(70_000));
    const env = { HOME: join(base, "home") };
    expect(() => extractNative(bundle, { env })).toThrow(NativeLoadError);
    expect(() => extractNative(bundle, { env })).toThrow(/libdep\.so\.1 is corrupt/);
    // the good file may be there; the corrupt one never is
    expect(readdirSync(join(base, "home", ".cache", "gigastt", "runtime", bundle.id))).not.toContain("libdep.so.1");
  });

  test("concurrent first runs in separate processes all end with the same verified files", async () => {
    const { base, bundle } = fixture({ "addon.node": 5000, "libbig.so.1": 8 * 1024 * 1024 });
    const home = join(base, "home");
    const script = `
      import { extractNative } from ${JSON.stringify(join(import.meta.dir, "native.ts"))};
      const bundle = JSON.parse(process.argv[2]);
      process.stdout.write(extractNative(bundle, { env: { HOME: ${JSON.stringify(home)} } }));`;
    writeFileSync(join(base, "extract.ts"), script);
    const procs = Array.from({ length: 4 }, () =>
      Bun.spawn([process.execPath, join(base, "extract.ts"), JSON.stringify(bundle)], { stdout: "pipe", stderr: "pipe" }),
    );
    const outs = await Promise.all(procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })));
    const want = join(home, ".cache", "gigastt", "runtime", bundle.id);
    for (const o of outs) expect(o).toEqual({ code: 0, out: want, err: "" });
    expect(isExtracted(want, bundle)).toBe(true);
    expect(readdirSync(want).sort()).toEqual(["addon.node", "libbig.so.1"]);
  });
});

describe("loadNativeAddon", () => {
  test("loads onnxruntime's real addon from the extraction folder (library found by $ORIGIN) and records the folder for Workers", async () => {
    const binDir = join(import.meta.dir, "..", "..", "node_modules", "onnxruntime-node", "bin", "napi-v6", process.platform, process.arch);
    const libName = process.platform === "darwin" ? "libonnxruntime.1.dylib" : "libonnxruntime.so.1";
    const files = ["onnxruntime_binding.node", libName].map((name) => {
      const bytes = readFileSync(join(binDir, name));
      return { name, path: join(binDir, name), sha256: sha(bytes), size: bytes.length };
    });
    const bundle: NativeBundle = { id: `ort-test-${bundleHash(files)}`, addon: "onnxruntime_binding.node", files };
    const base = mkdtempSync(join(tmpdir(), "native-ort-"));
    // in a child process: the test process already has onnxruntime loaded from node_modules
    writeFileSync(
      join(base, "load.ts"),
      `import { loadNativeAddon } from ${JSON.stringify(join(import.meta.dir, "native.ts"))};
       const b = loadNativeAddon(JSON.parse(process.argv[2]));
       process.stdout.write(JSON.stringify({ session: typeof b.InferenceSession, init: typeof b.initOrtOnce, dir: process.env.GIGASTT_RUNTIME_DIR }));`,
    );
    const p = Bun.spawn([process.execPath, join(base, "load.ts"), JSON.stringify(bundle)], {
      env: { PATH: process.env.PATH ?? "", HOME: join(base, "home") },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ session: "function", init: "function", dir: join(base, "home", ".cache", "gigastt", "runtime") });
  });
});
