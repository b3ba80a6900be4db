/**
 * No Docker engine runs here, so the Dockerfile is checked against
 * packaging/rootfs.list (the list the chroot suite runs): same base image
 * family, user, port, volume, environment, executable path; its staging step
 * is run for real; HEALTHCHECK and ENTRYPOINT use the binary itself.
 */
import { beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRootfsList, type RootfsSpec } from "../../scripts/lib/build-rootfs.ts";
import { PINNED_BUN } from "../../scripts/release.ts";
import { ensureDist, ROOT, run } from "./helpers.ts";

interface Instr {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instr[] {
  const out: Instr[] = [];
  const joined = text.replace(/\\\n/g, " ");
  for (const line of joined.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(t);
    if (m) out.push({ op: m[1]!, args: m[2]! });
  }
  return out;
}

let spec: RootfsSpec;
let ins: Instr[];
let finalStage: Instr[];
let bin: string;

beforeAll(() => {
  spec = readRootfsList();
  ins = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const lastFrom = ins.map((i) => i.op).lastIndexOf("FROM");
  finalStage = ins.slice(lastFrom);
  bin = spec.entries.find((e) => e.kind === "file")!.path;
});

const one = (op: string) => {
  const found = finalStage.filter((i) => i.op === op);
  expect(found.map((i) => i.op)).toEqual([op]);
  return found[0]!.args;
};

test("final stage: distroless cc-debian12 nonroot, the list's user, port and volume", () => {
  expect(finalStage[0]!.args).toBe("gcr.io/distroless/cc-debian12:nonroot");
  expect(one("USER")).toBe(`${spec.run.uid}:${spec.run.gid}`);
  expect(one("EXPOSE")).toBe(String(spec.port));
  expect(JSON.parse(one("VOLUME"))).toEqual([spec.volume]);
  const env = Object.fromEntries(finalStage.filter((i) => i.op === "ENV").map((i) => i.args.split("=", 2) as [string, string]));
  expect(env).toEqual(spec.env);
});

test("final stage copies only the staged trees (owners as the list says) and the model stage", () => {
  const copies = finalStage.filter((i) => i.op === "COPY").map((i) => i.args);
  const nonroot = spec.users.find((u) => u.name === "nonroot")!;
  // the nonroot entries are copied as the one folder they all live in, which the base image lacks
  // (copying from / would also re-own the base's /home/nonroot)
  const owned = spec.entries.filter((e) => e.owner === "nonroot").map((e) => e.path);
  const top = owned.reduce((a, b) => (a.length <= b.length ? a : b));
  for (const p of owned) expect(p === top || p.startsWith(`${top}/`)).toBe(true);
  expect(top.startsWith(`${nonroot.home}/`)).toBe(true);
  expect(copies).toEqual([
    "--from=build --chown=0:0 /stage/root/ /",
    `--from=build --chown=${nonroot.uid}:${nonroot.gid} /stage/nonroot${top} ${top}`,
    `--from=model --chown=${nonroot.uid}:${nonroot.gid} /models/ ${spec.volume}/`,
  ]);
  expect(finalStage.some((i) => i.op === "RUN")).toBe(false); // no shell in the final image
});

test("ENTRYPOINT serves on all interfaces; HEALTHCHECK runs the binary's own readiness probe, with time for a first download", () => {
  expect(JSON.parse(one("ENTRYPOINT"))).toEqual([bin, "serve", "--host", "0.0.0.0", "--bind-all"]);
  const hc = one("HEALTHCHECK");
  const cmd = /CMD (\[.*\])$/.exec(hc);
  expect(JSON.parse(cmd![1]!)).toEqual([bin, "healthcheck", "--ready"]);
  // ≈ 892 MB at 10 Mbit/s is about 12 minutes: the start period must cover it
  const start = /--start-period=(\d+)(s|m)\b/.exec(hc);
  expect(start).not.toBeNull();
  expect(Number(start![1]) * (start![2] === "m" ? 60 : 1)).toBeGreaterThanOrEqual(12 * 60);
});

test("build stage: pinned Bun image of the version this repo uses; model baking behind a build argument", () => {
  const args = ins.filter((i) => i.op === "ARG").map((i) => i.args);
  expect(args).toContain(`BUN_VERSION=${PINNED_BUN}`);
  expect(readFileSync(join(ROOT, ".ci", "run"), "utf8")).toContain(`BUN_VERSION=${PINNED_BUN}`);
  expect(ins.find((i) => i.op === "FROM")!.args).toBe("--platform=$BUILDPLATFORM oven/bun:${BUN_VERSION} AS build");
  expect(args).toContain("GIGASTT_BAKE_MODEL=0");
  const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args);
  expect(runs.some((r) => r.includes('"$GIGASTT_BAKE_MODEL" = 1') && r.includes("download --model-dir /models"))).toBe(true);
  expect(runs.some((r) => r.includes("bun scripts/compile.ts --target") && r.includes("bun scripts/lib/build-rootfs.ts stage"))).toBe(true);
});

test("the staging step the Dockerfile runs produces the list's entries with their modes", async () => {
  await ensureDist();
  const tmp = mkdtempSync(join(tmpdir(), "gigastt-stage-"));
  const out = join(tmp, "stage");
  const r = await run([process.execPath, join(ROOT, "scripts", "lib", "build-rootfs.ts"), "stage", "--arch", "x64", "--out", out], { env: { PATH: process.env.PATH ?? "" }, cwd: ROOT });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  for (const e of spec.entries) {
    const st = statSync(join(out, e.owner, e.path));
    expect({ path: e.path, dir: st.isDirectory(), mode: st.mode & 0o7777 }).toEqual({ path: e.path, dir: e.kind === "dir", mode: e.mode });
  }
  expect(statSync(join(out, "root", bin)).size).toBe(statSync(join(ROOT, "dist", "gigastt-linux-x64")).size);
  // the licences ship in the image: the notices of everything the executable embeds, byte for byte
  expect(readFileSync(join(out, "root", "usr/share/doc/gigastt/THIRD_PARTY_NOTICES"), "utf8")).toBe(readFileSync(join(ROOT, "THIRD_PARTY_NOTICES"), "utf8"));
  expect(readFileSync(join(out, "root", "usr/share/doc/gigastt/LICENSE"), "utf8")).toBe(readFileSync(join(ROOT, "LICENSE"), "utf8"));
  rmSync(tmp, { recursive: true, force: true });
}, 600_000);

test(".dockerignore lets in exactly what the build stage copies", () => {
  const lines = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  expect(lines[0]).toBe("*");
  for (const p of ["package.json", "bun.lock", "bunfig.toml", "tsconfig.json", "src/**", "scripts/**", "packaging/**"]) expect(lines).toContain(`!${p}`);
});

test("every file the list takes from the source tree (not built) is copied into the build stage and let in by .dockerignore", () => {
  const lines = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  const first = ins.findIndex((i) => i.op === "FROM");
  const build = ins.slice(first, ins.findIndex((i, n) => n > first && i.op === "FROM"));
  const copied = build.filter((i) => i.op === "COPY").flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  const sources = spec.entries.filter((e) => e.kind === "file" && !e.source!.startsWith("dist/")).map((e) => e.source!);
  expect(sources).toEqual(["THIRD_PARTY_NOTICES", "LICENSE"]);
  for (const src of sources) expect({ src, copied: copied.includes(src), allowed: lines.includes(`!${src}`) }).toEqual({ src, copied: true, allowed: true });
});
