#!/usr/bin/env bun
/**
 * The container's filesystem, from packaging/rootfs.list.
 *
 * - `stage` (used by the Dockerfile): copies the `dir`/`file` entries into
 *   `<out>/root` and `<out>/nonroot`, one tree per owner, because Docker's
 *   `COPY --from` resets ownership: the Dockerfile copies each tree with its
 *   `--chown`. Modes are kept.
 *
 *     bun scripts/lib/build-rootfs.ts stage --arch x64 --out /stage [--list packaging/rootfs.list] [--src .]
 *
 * - `buildRootfs` (used by test/ship/chroot.test.ts, as root): the same
 *   filesystem without Docker: the `base` Debian packages unpacked with
 *   `apt-get download` + `dpkg -x` (no maintainer scripts, so the CA bundle
 *   is assembled the way update-ca-certificates does), the base accounts,
 *   minimal /dev nodes, then the staged entries with their owners.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parseArgs } from "node:util";

export interface RootfsEntry {
  readonly kind: "dir" | "file";
  readonly path: string;
  readonly mode: number;
  readonly owner: "root" | "nonroot";
  /** file only: path relative to the source root, `{arch}` substituted by the caller */
  readonly source?: string;
}

export interface RootfsSpec {
  readonly base: readonly string[];
  readonly users: readonly { name: string; uid: number; gid: number; home: string }[];
  readonly env: Readonly<Record<string, string>>;
  readonly entries: readonly RootfsEntry[];
  readonly run: { uid: number; gid: number };
  readonly port: number;
  readonly volume: string;
}

export const DEFAULT_LIST = join(import.meta.dir, "..", "..", "packaging", "rootfs.list");

export function parseRootfsList(text: string): RootfsSpec {
  const base: string[] = [];
  const users: RootfsSpec["users"][number][] = [];
  const env: Record<string, string> = {};
  const entries: RootfsEntry[] = [];
  let run: RootfsSpec["run"] | null = null;
  let port: number | null = null;
  let volume: string | null = null;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [kind, ...a] = line.split(/\s+/);
    const bad = (why: string) => new Error(`rootfs.list line ${i + 1}: ${why}: ${line}`);
    const abs = (p: string | undefined) => {
      if (!p || !isAbsolute(p) || p.includes("..")) throw bad("expected an absolute path");
      return p;
    };
    const mode = (m: string | undefined) => {
      if (!m || !/^[0-7]{3,4}$/.test(m)) throw bad("expected an octal mode");
      return Number.parseInt(m, 8);
    };
    const owner = (o: string | undefined) => {
      if (o !== "root" && o !== "nonroot") throw bad("owner must be root or nonroot");
      return o;
    };
    switch (kind) {
      case "base":
        if (a.length !== 1 || !/^[a-z0-9][a-z0-9.+-]+$/.test(a[0]!)) throw bad("expected one Debian package name");
        base.push(a[0]!);
        break;
      case "user":
        if (a.length !== 4 || !/^\d+$/.test(a[1]!) || !/^\d+$/.test(a[2]!)) throw bad("expected NAME UID GID HOME");
        users.push({ name: a[0]!, uid: Number(a[1]), gid: Number(a[2]), home: abs(a[3]) });
        break;
      case "env": {
        const eq = (a[0] ?? "").indexOf("=");
        if (a.length !== 1 || eq < 1) throw bad("expected NAME=VALUE");
        env[a[0]!.slice(0, eq)] = a[0]!.slice(eq + 1);
        break;
      }
      case "dir":
        if (a.length !== 3) throw bad("expected PATH MODE OWNER");
        entries.push({ kind: "dir", path: abs(a[0]), mode: mode(a[1]), owner: owner(a[2]) });
        break;
      case "file":
        if (a.length !== 4) throw bad("expected PATH MODE OWNER SOURCE");
        entries.push({ kind: "file", path: abs(a[0]), mode: mode(a[1]), owner: owner(a[2]), source: a[3]! });
        break;
      case "run": {
        const m = /^(\d+):(\d+)$/.exec(a[0] ?? "");
        if (a.length !== 1 || !m) throw bad("expected UID:GID");
        run = { uid: Number(m[1]), gid: Number(m[2]) };
        break;
      }
      case "port":
        if (a.length !== 1 || !/^\d+$/.test(a[0]!)) throw bad("expected a port number");
        port = Number(a[0]);
        break;
      case "volume":
        volume = abs(a[0]);
        break;
      default:
        throw bad(`unknown kind '${kind}'`);
    }
  }
  if (!run || port === null || !volume) throw new Error("rootfs.list needs run, port and volume lines");
  const runUser = users.find((u) => u.uid === run.uid);
  if (!runUser || runUser.name !== "nonroot") throw new Error(`rootfs.list: run ${run.uid} is not the nonroot account`);
  return { base, users, env, entries, run, port, volume };
}

export function readRootfsList(path = DEFAULT_LIST): RootfsSpec {
  return parseRootfsList(readFileSync(path, "utf8"));
}

function uidOf(spec: RootfsSpec, owner: RootfsEntry["owner"]): { uid: number; gid: number } {
  const u = spec.users.find((x) => x.name === owner);
  if (!u) throw new Error(`rootfs.list has no user '${owner}'`);
  return { uid: u.uid, gid: u.gid };
}

/**
 * Places the `dir`/`file` entries under `target(owner)`; when `chown` is
 * true (root only) files also get their owners.
 */
export function placeEntries(spec: RootfsSpec, opts: { srcRoot: string; arch: "x64" | "arm64"; target: (owner: RootfsEntry["owner"]) => string; chown: boolean }): void {
  for (const e of spec.entries) {
    const dest = join(opts.target(e.owner), e.path);
    mkdirSync(e.kind === "dir" ? dest : dirname(dest), { recursive: true });
    if (e.kind === "file") {
      const src = join(opts.srcRoot, e.source!.replaceAll("{arch}", opts.arch));
      if (!existsSync(src)) throw new Error(`rootfs.list: ${src} does not exist (build it first: bun run compile)`);
      copyFileSync(src, dest);
    }
    chmodSync(dest, e.mode);
    if (opts.chown) {
      const { uid, gid } = uidOf(spec, e.owner);
      chownSync(dest, uid, gid);
    }
  }
}

/** Docker staging: `<out>/root/...` and `<out>/nonroot/...` trees. */
export function stage(spec: RootfsSpec, opts: { srcRoot: string; arch: "x64" | "arm64"; out: string }): void {
  rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(join(opts.out, "root"), { recursive: true });
  mkdirSync(join(opts.out, "nonroot"), { recursive: true });
  placeEntries(spec, { srcRoot: opts.srcRoot, arch: opts.arch, target: (o) => join(opts.out, o), chown: false });
}

function sh(cmd: string[], cwd?: string): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${(r.stderr || r.stdout || "").trim().slice(-1500)}`);
  return r.stdout;
}

/** Downloads (once, cached in `debCache`) and unpacks the base packages into `root`. */
export function unpackBase(spec: RootfsSpec, root: string, debCache: string): string[] {
  mkdirSync(debCache, { recursive: true });
  const debs: string[] = [];
  for (const pkg of spec.base) {
    let deb = readdirSync(debCache).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    if (!deb) {
      sh(["apt-get", "download", "-q", pkg], debCache);
      deb = readdirSync(debCache).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
      if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    }
    sh(["dpkg-deb", "-x", join(debCache, deb), root]);
    debs.push(deb);
  }
  return debs;
}

/** update-ca-certificates without running it: the bundle of every certificate the package ships. */
function caBundle(root: string): void {
  const dir = join(root, "usr", "share", "ca-certificates");
  if (!existsSync(dir)) return;
  const pems: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".crt")) pems.push(readFileSync(join(d, e.name), "utf8").trim());
    }
  };
  walk(dir);
  mkdirSync(join(root, "etc", "ssl", "certs"), { recursive: true });
  writeFileSync(join(root, "etc", "ssl", "certs", "ca-certificates.crt"), `${pems.join("\n")}\n`);
}

/**
 * The whole image filesystem at `root` (must run as root): base packages,
 * accounts, /tmp, /proc mount point, minimal /dev, then the image's entries.
 */
export function buildRootfs(spec: RootfsSpec, opts: { root: string; srcRoot: string; arch: "x64" | "arm64"; debCache: string }): void {
  const { root } = opts;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  unpackBase(spec, root, opts.debCache);
  caBundle(root);
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc", "passwd"), spec.users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:/sbin/nologin\n`).join(""));
  writeFileSync(join(root, "etc", "group"), spec.users.map((u) => `${u.name}:x:${u.gid}:\n`).join(""));
  for (const u of spec.users) {
    if (u.home === "/nonexistent") continue;
    mkdirSync(join(root, u.home), { recursive: true });
    chmodSync(join(root, u.home), 0o700);
    chownSync(join(root, u.home), u.uid, u.gid);
  }
  mkdirSync(join(root, "tmp"), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  mkdirSync(join(root, "proc"), { recursive: true });
  mkdirSync(join(root, "dev"), { recursive: true });
  for (const [name, minor] of [["null", 3], ["zero", 5], ["full", 7], ["random", 8], ["urandom", 9]] as const) {
    sh(["mknod", "-m", "666", join(root, "dev", name), "c", "1", String(minor)]);
  }
  placeEntries(spec, { srcRoot: opts.srcRoot, arch: opts.arch, target: () => root, chown: true });
}

/** Programs that would make this more than a distroless filesystem. */
export function shellsIn(root: string): string[] {
  return ["bin/sh", "bin/bash", "bin/dash", "usr/bin/sh", "usr/bin/bash", "usr/bin/dash", "bin/busybox", "usr/bin/busybox", "usr/bin/curl", "usr/bin/wget"].filter((p) => {
    try {
      return statSync(join(root, p)).isFile();
    } catch {
      return false;
    }
  });
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: {
      list: { type: "string", default: DEFAULT_LIST },
      arch: { type: "string" },
      out: { type: "string" },
      src: { type: "string", default: join(import.meta.dir, "..", "..") },
    },
    strict: true,
  });
  try {
    if (positionals[0] !== "stage" || !values.out || (values.arch !== "x64" && values.arch !== "arm64"))
      throw new Error("usage: build-rootfs.ts stage --arch x64|arm64 --out DIR [--list FILE] [--src DIR]");
    stage(readRootfsList(values.list), { srcRoot: values.src!, arch: values.arch, out: values.out });
  } catch (e) {
    process.stderr.write(`build-rootfs: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
