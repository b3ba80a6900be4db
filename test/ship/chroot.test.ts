/**
 * The container image's contents, run without Docker (needs root): a
 * filesystem with exactly the distroless/cc-debian12 packages from
 * packaging/rootfs.list (apt-get download + dpkg -x, no shell) plus the
 * image's own entries, the tone model in the model volume, `/proc` mounted,
 * and the executable started by `chroot --userspec=65532:65532` like the
 * image's ENTRYPOINT (on loopback): /health, REST (WAV, MP3, M4A), a WebSocket stream, the
 * binary's healthcheck (0 up, 1 down) and SIGTERM → exit 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRootfs, readRootfsList, type RootfsSpec, shellsIn } from "../../scripts/lib/build-rootfs.ts";
import { PHRASE as FORMATS_PHRASE } from "../fixtures/formats/make.ts";
import { makeToneModelDir, phraseToAudio, wavBytes } from "../helpers/tone.ts";
import { pcm16, splitBytes, WsClient } from "../server/streaming-helpers.ts";
import { ensureDist, ROOT, run, type ServeProcess, startServe } from "./helpers.ts";

const PHRASE = "привет мир, как дела?";
const FORMATS = join(import.meta.dir, "..", "fixtures", "formats");
const ARCH = process.arch === "arm64" ? "arm64" : "x64";
let spec: RootfsSpec;
let root: string;
let procMounted = false;
let binPath: string;

const CHROOT = Bun.which("chroot", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` }) ?? "/usr/sbin/chroot";

function chrootCmd(...args: string[]): string[] {
  return [CHROOT, `--userspec=${spec.run.uid}:${spec.run.gid}`, root, binPath, ...args];
}

beforeAll(async () => {
  expect(process.getuid!()).toBe(0); // chroot and mount need root (CI runs as root)
  await ensureDist();
  spec = readRootfsList();
  root = mkdtempSync(join(tmpdir(), "gigastt-rootfs-"));
  buildRootfs(spec, { root, srcRoot: ROOT, arch: ARCH, debCache: join(ROOT, ".cache", "rootfs-debs") });
  binPath = spec.entries.find((e) => e.kind === "file" && e.path.endsWith("/gigastt"))!.path;
  // the tone model in the image's model volume, owned by the server's user
  const volume = join(root, spec.volume);
  cpSync(makeToneModelDir(), volume, { recursive: true });
  for (const f of readdirSync(volume)) chownSync(join(volume, f), spec.run.uid, spec.run.gid);
  const m = spawnSync("mount", ["-t", "proc", "proc", join(root, "proc")], { encoding: "utf8" });
  if (m.status !== 0) throw new Error(`mount proc failed: ${m.stderr}`);
  procMounted = true;
}, 600_000);

afterAll(() => {
  if (procMounted) spawnSync("umount", ["-l", join(root, "proc")]);
  if (root && !spawnSync("findmnt", ["-n", join(root, "proc")]).stdout?.toString().trim()) rmSync(root, { recursive: true, force: true });
});

describe("distroless filesystem in a chroot", () => {
  test("holds the base libraries and the executable, and no shell", () => {
    expect(shellsIn(root)).toEqual([]);
    const bin = statSync(join(root, binPath));
    expect({ mode: bin.mode & 0o777, uid: bin.uid }).toEqual({ mode: 0o755, uid: 0 });
    const vol = statSync(join(root, spec.volume));
    expect({ uid: vol.uid, gid: vol.gid }).toEqual({ uid: spec.run.uid, gid: spec.run.gid });
    const libdir = ARCH === "x64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
    for (const lib of ["libc.so.6", "libstdc++.so.6", "libgcc_s.so.1"])
      expect({ lib, present: existsSync(join(root, "lib", libdir, lib)) || existsSync(join(root, "usr", "lib", libdir, lib)) }).toEqual({ lib, present: true });
    expect(readFileSync(join(root, "etc", "ssl", "certs", "ca-certificates.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(existsSync(join(root, "usr", "share", "zoneinfo", "Europe", "Moscow"))).toBe(true);
    // the licences of everything the executable embeds ship with the image
    const notices = statSync(join(root, "usr", "share", "doc", "gigastt", "THIRD_PARTY_NOTICES"));
    expect({ mode: notices.mode & 0o777, uid: notices.uid }).toEqual({ mode: 0o644, uid: 0 });
    expect(readFileSync(join(root, "usr", "share", "doc", "gigastt", "THIRD_PARTY_NOTICES"), "utf8")).toBe(readFileSync(join(ROOT, "THIRD_PARTY_NOTICES"), "utf8"));
  });

  test("--version runs as uid 65532", async () => {
    const r = await run(chrootCmd("--version"), { env: { ...spec.env } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`onnxruntime 1\\.30\\.0, linux-${ARCH}\\)`));
  });

  describe("serve", () => {
    let srv: ServeProcess;
    beforeAll(async () => {
      srv = await startServe(chrootCmd("serve", "--host", "127.0.0.1", "--port", "0", "--offline", "--shutdown-drain-secs", "2"), { env: { ...spec.env } });
    }, 60_000);
    afterAll(() => {
      if (srv && srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
    });

    test("/health, from the model volume, with onnxruntime extracted under the user's HOME", async () => {
      const r = await fetch(`${srv.url}/health`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { status: string }).status).toBe("ok");
      const cache = join(root, spec.env.HOME!, ".cache", "gigastt", "runtime");
      const dirs = readdirSync(cache);
      expect(dirs).toHaveLength(1);
      expect(statSync(join(cache, dirs[0]!)).uid).toBe(spec.run.uid);
      // and nothing else: no onnxruntime telemetry store under HOME, no mat-debug log in /tmp
      expect(readdirSync(join(root, spec.env.HOME!, ".cache"))).toEqual(["gigastt"]);
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
    });

    test("REST transcription", async () => {
      const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: wavBytes(phraseToAudio(PHRASE).samples) });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { text: string }).text).toBe(PHRASE);
    });

    // compressed formats decode in the decode Worker inside the image too (WASM embedded, no ffmpeg)
    for (const name of ["mp3-128k-mono.mp3", "aac-96k.m4a", "aac-96k-faststart.m4a"]) {
      test(`REST transcription of ${name}`, async () => {
        const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: readFileSync(join(FORMATS, name)) });
        expect(r.status).toBe(200);
        expect(((await r.json()) as { text: string }).text).toBe(FORMATS_PHRASE);
      });
    }

    test("WebSocket stream", async () => {
      const c = await WsClient.open(srv.ws);
      await c.next("ready");
      c.json({ type: "configure", sample_rate: 16000 });
      for (const f of splitBytes(pcm16(phraseToAudio(PHRASE).samples), 3200)) c.send(f);
      c.json({ type: "stop" });
      await c.closed;
      expect(c.ofType("error")).toEqual([]);
      expect(c.ofType("final").map((m) => m.text).filter(Boolean).join(" ")).toBe(PHRASE);
    }, 30_000);

    test("healthcheck inside the image: 0 while up; SIGTERM exits 0; then 1", async () => {
      const health = `${srv.url}/health`;
      const up = await run(chrootCmd("healthcheck", "--url", health), { env: { ...spec.env } });
      expect(up.code).toBe(0);
      expect(await srv.stop()).toBe(0);
      const down = await run(chrootCmd("healthcheck", "--url", health, "--timeout-ms", "1000"), { env: { ...spec.env } });
      expect(down.code).toBe(1);
    }, 30_000);
  });

  describe("serve on a read-only root filesystem, as deploy/k8s/deployment.yaml runs it", () => {
    // the manifest's container: its args and env, its writable mounts (model PVC, ~/.cache and /tmp
    // emptyDirs), everything else read-only, uid 65532
    const manifest = Bun.YAML.parse(readFileSync(join(ROOT, "deploy/k8s/deployment.yaml"), "utf8")) as {
      spec: { template: { spec: { containers: { args: string[]; env: { name: string; value: string }[]; volumeMounts: { name: string; mountPath: string }[] }[] } } };
    };
    const container = manifest.spec.template.spec.containers[0]!;
    const mounts: string[] = [];
    let ro = "";
    let srv: ServeProcess | undefined;
    const mount = (...args: string[]) => {
      const m = spawnSync("mount", args, { encoding: "utf8" });
      if (m.status !== 0) throw new Error(`mount ${args.join(" ")} failed: ${m.stderr}`);
      mounts.push(args[args.length - 1]!);
    };
    beforeAll(() => {
      for (const m of container.volumeMounts) mkdirSync(join(root, m.mountPath), { recursive: true });
      ro = mkdtempSync(join(tmpdir(), "gigastt-rootfs-ro-"));
      mount("--bind", root, ro);
      mount("-o", "remount,bind,ro", ro);
      mount("-t", "proc", "proc", join(ro, "proc"));
      const models = mkdtempSync(join(tmpdir(), "gigastt-pvc-"));
      cpSync(makeToneModelDir(), models, { recursive: true });
      for (const f of ["", ...readdirSync(models)]) chownSync(join(models, f), spec.run.uid, spec.run.gid);
      for (const m of container.volumeMounts) {
        if (m.name === "models") mount("--bind", models, join(ro, m.mountPath));
        else mount("-t", "tmpfs", "-o", `size=256m,mode=0755,uid=${spec.run.uid},gid=${spec.run.gid}`, "tmpfs", join(ro, m.mountPath));
      }
    });
    afterAll(() => {
      if (srv && srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
      for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
    });

    test("the manifest's flags and mounts are enough: /health, REST, SIGTERM exits 0; the root stays unwritable", async () => {
      const env = { ...spec.env, ...Object.fromEntries(container.env.map((e) => [e.name, e.value])) };
      const cmd = [CHROOT, `--userspec=${spec.run.uid}:${spec.run.gid}`, ro, binPath, "serve", "--host", "127.0.0.1", "--port", "0", ...container.args];
      srv = await startServe(cmd, { env });
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
      const r = await fetch(`${srv.url}/v1/transcribe`, { method: "POST", body: wavBytes(phraseToAudio(PHRASE).samples) });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { text: string }).text).toBe(PHRASE);
      // onnxruntime went to GIGASTT_RUNTIME_DIR on the writable cache volume
      expect(readdirSync(join(ro, env.GIGASTT_RUNTIME_DIR!))).toHaveLength(1);
      expect(() => writeFileSync(join(ro, "etc", "probe"), "x")).toThrow();
      expect(await srv.stop()).toBe(0);
    }, 60_000);
  });
});
