/**
 * Real processes for the deployment tests: `gigastt serve` replicas on the
 * tone model, and nginx / Caddy running the shipped recipes (deploy/) with
 * only their addresses, ports and certificate paths rendered for loopback.
 * Every process is registered and killed by `killAll()`; every wait is bounded.
 */
import { spawn as spawnDetached } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");
export const PUBLIC_NAME = "stt.example.com";

type Line = Record<string, unknown>;

const live = new Set<ReturnType<typeof Bun.spawn>>();
/** process groups this module started (nginx: master + worker): the leader's pid → its exit */
const groups = new Map<number, Promise<void>>();

/** ends every process this module started that is still running, and waits (bounded) for them */
export async function killAll(): Promise<void> {
  const exits: Promise<unknown>[] = [];
  for (const p of live) {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    exits.push(p.exited);
  }
  live.clear();
  for (const pgid of [...groups.keys()]) exits.push(stopGroup(pgid));
  await Promise.race([Promise.all(exits), sleep(5_000)]);
}

/** SIGTERM to the group's leader (nginx's master stops and reaps its worker), SIGKILL to the group after 2 s */
async function stopGroup(pgid: number): Promise<void> {
  const exited = groups.get(pgid);
  if (!exited) return;
  groups.delete(pgid);
  try {
    process.kill(pgid, "SIGTERM");
  } catch {
    return;
  }
  const done = await Promise.race([exited.then(() => true), sleep(2_000).then(() => false)]);
  if (!done) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function track(proc: ReturnType<typeof Bun.spawn>): ReturnType<typeof Bun.spawn> {
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

export async function sleep(ms: number): Promise<void> {
  await Bun.sleep(ms);
}

/** polls `check` until it returns a value other than undefined/false, or throws after `ms` */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(every);
  }
}

/** distinct free loopback TCP ports (bound to 0, read, released); take all a test needs in one call */
export function freePorts(n: number): number[] {
  const socks = Array.from({ length: n }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = socks.map((s) => s.port);
  for (const s of socks) s.stop(true);
  return ports;
}

export function requireTool(name: string): string {
  const path = Bun.which(name, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (!path) throw new Error(`'${name}' is not installed: the deployment tests need Debian's nginx, caddy and prometheus packages (.ci/run installs them)`);
  return path;
}

// ---- gigastt replicas ---------------------------------------------------------------

export class Replica {
  proc!: ReturnType<typeof Bun.spawn>;
  lines: Line[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: readonly string[],
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** starts the process (again, on the same port) and waits until /ready is 200 */
  async start(): Promise<void> {
    this.lines = [];
    const proc = track(Bun.spawn(["bun", MAIN, "serve", "--port", String(this.port), ...this.args], { env: this.env, stdout: "ignore", stderr: "pipe" }));
    this.proc = proc;
    void (async () => {
      let buf = "";
      const dec = new TextDecoder();
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            this.lines.push(JSON.parse(line) as Line);
          } catch {
            this.lines.push({ raw: line });
          }
          for (const w of this.waiters.splice(0)) w();
        }
      }
    })();
    await this.waitFor((l) => l.msg === "model loaded: ready", 25_000);
    await until(`${this.name} /ready`, async () => (await fetch(`${this.url}/ready`)).status === 200, 5_000);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async waitFor(pred: (l: Line) => boolean, ms = 10_000): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`${this.name}: log line not seen within ${ms} ms; got:\n${this.lines.map((l) => JSON.stringify(l)).join("\n")}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(100)]);
    }
  }

  /** the `request` lines (one per finished request, with request_id, status and the client address) */
  requests(): Line[] {
    return this.lines.filter((l) => l.msg === "request");
  }

  /** the client address a request line names (`ip`, or `client` in the access-log format) */
  static client(line: Line): unknown {
    return line.client ?? line.ip;
  }

  served(requestId: string): Line | undefined {
    return this.requests().find((l) => l.request_id === requestId);
  }

  rejected(requestId: string): Line | undefined {
    return this.lines.find((l) => l.msg === "request rejected" && l.request_id === requestId);
  }

  /** one sample of the replica's /metrics (asked directly, not through a proxy) */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`${this.name}: /metrics has no ${name}`);
    return Number(m[1]);
  }

  /** SIGHUP and wait for the reload line */
  async reload(): Promise<void> {
    const before = this.lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("SIGHUP: config reloaded")).length;
    this.proc.kill("SIGHUP");
    await until(`${this.name} SIGHUP reload`, () => this.lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("SIGHUP: config reloaded")).length > before, 5_000, 50);
  }
}

// ---- proxies ----------------------------------------------------------------------

export interface Proxy {
  readonly name: string;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly wsUrl: string;
  stop(): void;
}

export interface NginxProxy extends Proxy {
  /** marks the upstream on `port` `down` (or none, with null) and reloads nginx (SIGHUP) */
  setDown(port: number | null): Promise<void>;
}

/** replaces `from` (which must occur exactly once) with `to` */
function replaceOnce(text: string, from: string, to: string, file: string): string {
  const n = text.split(from).length - 1;
  if (n !== 1) throw new Error(`${file}: expected '${from}' exactly once, found ${n} (the recipe changed: update the test's rendering)`);
  return text.replace(from, to);
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const p = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", `/CN=${PUBLIC_NAME}`, "-keyout", key, "-out", cert],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (p.exitCode !== 0) throw new Error(`openssl failed: ${p.stderr.toString()}`);
  return { cert, key };
}

async function waitListening(name: string, url: string, proc: { readonly exitCode: number | null }, log: () => string): Promise<void> {
  await until(
    `${name} to answer /health`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}: ${log()}`);
      const r = await fetch(`${url}/health`, { headers: { host: PUBLIC_NAME }, tls: { rejectUnauthorized: false } } as RequestInit);
      return r.status === 200;
    },
    15_000,
    150,
  );
}

/** deploy/nginx/gigastt.conf with the two upstreams, the listen ports and the certificate rendered for loopback */
export async function startNginx(upstreams: readonly [number, number], [https, http]: readonly [number, number]): Promise<NginxProxy> {
  const file = "deploy/nginx/gigastt.conf";
  const dir = mkdtempSync(join(tmpdir(), "gigastt-nginx-"));
  chmodSync(dir, 0o755); // the worker runs as nobody
  const { cert, key } = selfSignedCert(dir);
  let conf = readFileSync(join(ROOT, file), "utf8");
  conf = replaceOnce(conf, "server 10.0.0.11:9876 ", `server 127.0.0.1:${upstreams[0]} `, file);
  conf = replaceOnce(conf, "server 10.0.0.12:9876 ", `server 127.0.0.1:${upstreams[1]} `, file);
  conf = replaceOnce(conf, "listen 80;", `listen 127.0.0.1:${http};`, file);
  conf = replaceOnce(conf, "listen [::]:80;", "", file);
  conf = replaceOnce(conf, "listen 443 ssl http2;", `listen 127.0.0.1:${https} ssl http2;`, file);
  conf = replaceOnce(conf, "listen [::]:443 ssl http2;", "", file);
  conf = replaceOnce(conf, "/etc/letsencrypt/live/stt.example.com/fullchain.pem", cert, file);
  conf = replaceOnce(conf, "/etc/letsencrypt/live/stt.example.com/privkey.pem", key, file);
  const rendered = conf;
  writeFileSync(join(dir, "gigastt.conf"), rendered);
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    mkdirSync(join(dir, d));
    chmodSync(join(dir, d), 0o777);
  }
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      "daemon off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      "events { worker_connections 512; }",
      "http {",
      `  access_log ${dir}/access.log;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      `  include ${dir}/gigastt.conf;`,
      "}",
      "",
    ].join("\n"),
  );
  const nginx = requireTool("nginx");
  const check = Bun.spawnSync([nginx, "-t", "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdout: "pipe", stderr: "pipe" });
  if (check.exitCode !== 0) throw new Error(`nginx -t rejected the rendered ${file}: ${check.stderr.toString()}`);
  // master + worker in a process group of their own, so that nothing outlives the test
  const master = spawnDetached(nginx, ["-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { detached: true, stdio: "ignore" });
  const pgid = master.pid!;
  let exitCode: number | null = null;
  groups.set(pgid, new Promise<void>((resolve) => master.on("exit", (code) => {
    exitCode = code ?? -1;
    resolve();
  })));
  const url = `https://127.0.0.1:${https}`;
  const errorLog = () => readFileSync(`${dir}/error.log`, "utf8");
  await waitListening("nginx", url, { get exitCode() { return exitCode; } }, errorLog);
  const count = (what: string) => errorLog().split(what).length - 1;
  return {
    name: "nginx",
    url,
    wsUrl: `wss://127.0.0.1:${https}/v1/ws`,
    stop: () => void stopGroup(pgid),
    async setDown(port) {
      const next = port === null ? rendered : replaceOnce(rendered, `server 127.0.0.1:${port} `, `server 127.0.0.1:${port} down `, file);
      writeFileSync(join(dir, "gigastt.conf"), next);
      // `nginx -s reload`: a new worker with the new upstreams, the old one stops accepting and
      // keeps its open connections (WebSocket tunnels, uploads) until they end
      const before = count("gracefully shutting down");
      process.kill(pgid, "SIGHUP");
      await until("nginx to reload", () => count("gracefully shutting down") > before, 5_000, 50);
    },
  };
}

/** deploy/caddy/Caddyfile imported unchanged; site and upstreams from its env variables, test-only global options */
export async function startCaddy(upstreams: readonly [number, number], [https, http]: readonly [number, number]): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), "gigastt-caddy-"));
  writeFileSync(
    join(dir, "Caddyfile"),
    [
      "{",
      "\tadmin off",
      "\tskip_install_trust",
      "\tlocal_certs", // a certificate from Caddy's own CA instead of ACME
      `\tdefault_sni ${PUBLIC_NAME}`, // the test connects to 127.0.0.1 (no SNI)
      "\tdefault_bind 127.0.0.1",
      `\tstorage file_system ${dir}/data`,
      `\thttp_port ${http}`,
      `\thttps_port ${https}`,
      "}",
      `import ${join(ROOT, "deploy/caddy/Caddyfile")}`,
      "",
    ].join("\n"),
  );
  const caddy = requireTool("caddy");
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    XDG_DATA_HOME: join(dir, "data"),
    XDG_CONFIG_HOME: join(dir, "config"),
    GIGASTT_SITE: PUBLIC_NAME,
    GIGASTT_UPSTREAMS: `127.0.0.1:${upstreams[0]} 127.0.0.1:${upstreams[1]}`,
  };
  const proc = track(Bun.spawn([caddy, "run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], { env, stdout: "ignore", stderr: "pipe" }));
  let log = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) log += dec.decode(chunk, { stream: true });
  })();
  const url = `https://127.0.0.1:${https}`;
  await waitListening("caddy", url, proc, () => log);
  return { name: "caddy", url, wsUrl: `wss://127.0.0.1:${https}/v1/ws`, stop: () => proc.kill("SIGKILL") };
}
