/**
 * scripts/install.sh against a loopback HTTP server serving dist/: a good
 * release, a tampered executable, a release without this platform, OS/CPU
 * detection (through a stand-in `uname`), install folders, and POSIX/shellcheck.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSums, sha256File } from "../../scripts/lib/build-sums.ts";
import { DIST, ensureDist, ROOT, run } from "./helpers.ts";

const SCRIPT = join(ROOT, "scripts", "install.sh");
let base: string;
let server: ReturnType<typeof Bun.serve>;
let url: string;
const requests: string[] = [];
let tampered: Uint8Array;
let sums: string;

beforeAll(async () => {
  await ensureDist();
  base = mkdtempSync(join(tmpdir(), "gigastt-install-"));
  sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8");
  const small = new Uint8Array(readFileSync(join(DIST, "gigastt-linux-x64")));
  small[small.length >> 1] = small[small.length >> 1]! ^ 1;
  tampered = small;
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const [, release, file] = path.split("/");
      if (!file || !/^(SHA256SUMS|gigastt-(linux|darwin)-(x64|arm64))$/.test(file)) return new Response("not found", { status: 404 });
      if (release === "missing" && file === "SHA256SUMS") return new Response(sums.split("\n").filter((l) => !l.endsWith("gigastt-linux-x64")).join("\n"));
      if (release === "tampered" && file === "gigastt-linux-x64") return new Response(tampered);
      if (!["ok", "missing", "tampered"].includes(release!)) return new Response("not found", { status: 404 });
      const f = Bun.file(join(DIST, file));
      return new Response(f);
    },
  });
  url = `http://127.0.0.1:${server.port}`;
}, 600_000);

afterAll(() => {
  server?.stop(true);
  if (base) rmSync(base, { recursive: true, force: true });
});

let n = 0;
function sandbox(): { home: string; tmp: string; env: Record<string, string> } {
  const dir = join(base, `case-${++n}`);
  const home = join(dir, "home");
  const tmp = join(dir, "tmp");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp);
  return { home, tmp, env: { HOME: home, TMPDIR: tmp, PATH: "/usr/bin:/bin" } };
}

describe("install.sh", () => {
  test("installs the verified executable to ~/.local/bin and prints what to run next", async () => {
    const { home, tmp, env } = sandbox();
    const r = await run(["sh", SCRIPT], { env: { ...env, GIGASTT_BASE_URL: `${url}/ok` } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dest = join(home, ".local", "bin", "gigastt");
    expect(sha256File(dest)).toBe(parseSums(sums).get("gigastt-linux-x64")!);
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    expect(r.stdout).toContain("gigastt: linux-x64 from");
    expect(r.stdout).toMatch(/gigastt \d+\.\d+\.\d+ \(commit [0-9a-f]+/); // the installed binary ran
    expect(r.stdout).toContain(`export PATH="${join(home, ".local", "bin")}:$PATH"`);
    expect(r.stdout).toContain(`next: ${dest} serve`);
    expect(readdirSync(join(home, ".local", "bin"))).toEqual(["gigastt"]);
    expect(readdirSync(tmp)).toEqual([]); // temp download removed
  }, 60_000);

  test("--prefix and --bin-dir choose the folder; on PATH the hint is just `gigastt serve`", async () => {
    const { home, env } = sandbox();
    const prefix = join(home, "opt");
    const a = await run(["sh", SCRIPT, "--prefix", prefix, "--base-url", `${url}/ok/`], { env });
    expect(a.code).toBe(0);
    expect(existsSync(join(prefix, "bin", "gigastt"))).toBe(true);
    const binDir = join(home, "tools");
    const b = await run(["sh", SCRIPT, `--bin-dir=${binDir}`, `--base-url=${url}/ok`], { env: { ...env, PATH: `${binDir}:${env.PATH}` } });
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("next: gigastt serve");
    expect(b.stdout).not.toContain("export PATH");
  }, 60_000);

  test("a tampered executable is refused and deleted; nothing is installed", async () => {
    const { home, tmp, env } = sandbox();
    const r = await run(["sh", SCRIPT, "--base-url", `${url}/tampered`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("checksum mismatch for gigastt-linux-x64");
    expect(r.stderr).toContain("nothing was installed");
    expect(existsSync(join(home, ".local", "bin", "gigastt"))).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  test("a tampered download never replaces an existing install", async () => {
    const { home, env } = sandbox();
    const dest = join(home, ".local", "bin", "gigastt");
    mkdirSync(join(home, ".local", "bin"), { recursive: true });
    writeFileSync(dest, "previous");
    const r = await run(["sh", SCRIPT, "--base-url", `${url}/tampered`], { env });
    expect(r.code).toBe(1);
    expect(readFileSync(dest, "utf8")).toBe("previous");
  }, 60_000);

  test("a release without this platform: clear error, no download of the executable", async () => {
    const { home, env } = sandbox();
    requests.length = 0;
    const r = await run(["sh", SCRIPT, "--base-url", `${url}/missing`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this release has no build for linux-x64");
    expect(requests).toEqual(["/missing/SHA256SUMS"]);
    expect(existsSync(join(home, ".local", "bin"))).toBe(false);
  });

  test("an unreachable release: clear error, exit 1", async () => {
    const { env } = sandbox();
    const r = await run(["sh", SCRIPT, "--base-url", `${url}/nope`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not download ${url}/nope/SHA256SUMS`);
  });

  test("detects OS and CPU from uname (macOS on Apple silicon → darwin-arm64; FreeBSD refused)", async () => {
    const { home, env } = sandbox();
    const fake = join(home, "fakebin");
    mkdirSync(fake);
    const uname = (s: string, m: string) => {
      writeFileSync(join(fake, "uname"), `#!/bin/sh\ncase "$1" in -s) echo ${s};; -m) echo ${m};; *) echo ${s};; esac\n`);
      chmodSync(join(fake, "uname"), 0o755);
    };
    uname("Darwin", "arm64");
    requests.length = 0;
    const mac = await run(["sh", SCRIPT, "--base-url", `${url}/ok`], { env: { ...env, PATH: `${fake}:${env.PATH}` } });
    expect(mac.code).toBe(0);
    expect(requests).toEqual(["/ok/SHA256SUMS", "/ok/gigastt-darwin-arm64"]);
    expect(sha256File(join(home, ".local", "bin", "gigastt"))).toBe(parseSums(sums).get("gigastt-darwin-arm64")!);
    expect(mac.stderr).toContain("did not run on this machine"); // a Mach-O file on Linux
    uname("Linux", "aarch64");
    requests.length = 0;
    expect((await run(["sh", SCRIPT, "--base-url", `${url}/ok`], { env: { ...env, PATH: `${fake}:${env.PATH}` } })).code).toBe(0);
    expect(requests).toEqual(["/ok/SHA256SUMS", "/ok/gigastt-linux-arm64"]);
    uname("FreeBSD", "amd64");
    const bsd = await run(["sh", SCRIPT, "--base-url", `${url}/ok`], { env: { ...env, PATH: `${fake}:${env.PATH}` } });
    expect(bsd.code).toBe(1);
    expect(bsd.stderr).toContain("unsupported operating system 'FreeBSD'");
  }, 120_000);

  test("usage errors exit 2", async () => {
    const { env } = sandbox();
    expect((await run(["sh", SCRIPT, "--frobnicate"], { env })).code).toBe(2);
    expect((await run(["sh", SCRIPT, "--prefix"], { env })).code).toBe(2);
  });

  test("POSIX: runs under dash, and shellcheck finds nothing", async () => {
    const { home, env } = sandbox();
    const r = await run(["dash", SCRIPT, "--base-url", `${url}/ok`], { env });
    expect(r.code).toBe(0);
    expect(existsSync(join(home, ".local", "bin", "gigastt"))).toBe(true);
    const sc = await run(["shellcheck", "-s", "sh", SCRIPT], { env: { PATH: "/usr/bin:/bin" } });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.code).toBe(0);
  }, 60_000);
});
