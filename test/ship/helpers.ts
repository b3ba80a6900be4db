/**
 * Shared by the ship suites: build the release artifacts once (cached in
 * dist/ by input hash: `scripts/compile.ts --all --if-changed`), run a binary with
 * a controlled environment, and start `serve` as a child process.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");
export const DIST = join(ROOT, "dist");

let built: Promise<string> | null = null;

/** Runs `bun scripts/compile.ts --all --if-changed` once per test process; resolves to dist/. */
export function ensureDist(): Promise<string> {
  built ??= (async () => {
    const p = Bun.spawn([process.execPath, join(ROOT, "scripts", "compile.ts"), "--all", "--if-changed"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`bun scripts/compile.ts failed (${code}):\n${err}`);
    for (const n of ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"]) {
      if (!existsSync(join(DIST, `gigastt-${n}`))) throw new Error(`compile did not produce gigastt-${n}`);
    }
    return DIST;
  })();
  return built;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(cmd: string[], opts: { env: Record<string, string>; cwd?: string; stdin?: Uint8Array; timeoutMs?: number }): Promise<RunResult> {
  const p = Bun.spawn(cmd, {
    env: opts.env,
    cwd: opts.cwd,
    stdin: opts.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 60_000,
  });
  const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code, stdout, stderr };
}

export interface ServeProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly url: string;
  readonly ws: string;
  /** stderr so far */
  log(): string;
  /** SIGTERM and the exit code */
  stop(): Promise<number>;
}

/** Spawns `<cmd> serve --port 0 …`, waits for the "listening" log line, then for /ready. */
export async function startServe(cmd: string[], opts: { env: Record<string, string>; cwd?: string; readyMs?: number }): Promise<ServeProcess> {
  const proc = Bun.spawn(cmd, { env: opts.env, cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let log = "";
  const reader = proc.stderr.getReader();
  const dec = new TextDecoder();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not log its URL within 20 s:\n${log}`)), 20_000);
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        log += dec.decode(value, { stream: true });
        const m = /"msg":"gigastt listening","url":"(http:\/\/[^"]+)"/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
      clearTimeout(timer);
      reject(new Error(`serve exited before listening (${await proc.exited}):\n${log}`));
    })().catch(reject);
  });
  // keep draining stderr so the child never blocks on a full pipe
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      log += dec.decode(value, { stream: true });
    }
  })();
  const deadline = Date.now() + (opts.readyMs ?? 30_000);
  for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
    const r = await fetch(`${url}/ready`).catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`serve not ready within ${opts.readyMs ?? 30_000} ms:\n${log}`);
    await Bun.sleep(wait);
  }
  return {
    proc,
    url,
    ws: `${url.replace(/^http/, "ws")}/v1/ws`,
    log: () => log,
    async stop() {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
  };
}
