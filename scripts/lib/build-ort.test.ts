/**
 * ensurePinnedPackages against a loopback npm registry: the pinned tarball is
 * fetched with `npm pack`, checked against the pinned integrity, unpacked once
 * and reused; a registry serving other bytes (with matching metadata, as a
 * compromised registry would) is refused and nothing is unpacked.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePinnedPackages, integrityOf, type PinnedPackage } from "./build-ort.ts";

let base: string;
let server: ReturnType<typeof Bun.spawn>;
let registry: string;
let good: Uint8Array;
let evil: Uint8Array;
let pin: PinnedPackage;

/** A package tarball (`package/…`) as npm publishes it. */
function tarball(dir: string, body: string): Uint8Array {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "package", "bin"), { recursive: true });
  writeFileSync(join(dir, "package", "package.json"), JSON.stringify({ name: "gigastt-pin-fixture", version: "1.0.0" }));
  writeFileSync(join(dir, "package", "bin", "lib.so"), body);
  const out = join(dir, "pkg.tgz");
  const r = spawnSync("tar", ["-czf", out, "-C", dir, "package"]);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

/** Requests the registry has answered (it logs one line per request). */
function requests(): string[] {
  return readFileSync(join(base, "requests.log"), "utf8").split("\n").filter(Boolean);
}

// the registry runs in its own process: ensurePinnedPackages blocks this one while npm runs
const REGISTRY = `
import { appendFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
const [dir, name] = process.argv.slice(2);
const integrity = (b) => "sha512-" + createHash("sha512").update(b).digest("base64");
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch(req) {
  const path = new URL(req.url).pathname;
  appendFileSync(dir + "/requests.log", path + "\\n");
  const [, release, ...rest] = path.split("/");
  const bytes = readFileSync(dir + "/" + (release === "evil" ? "evil" : "good") + "/pkg.tgz");
  const what = decodeURIComponent(rest.join("/"));
  if (what === name) return Response.json({ name, "dist-tags": { latest: "1.0.0" }, versions: { "1.0.0": { name, version: "1.0.0",
    dist: { tarball: "http://127.0.0.1:" + server.port + "/" + release + "/" + name + "/-/" + name + "-1.0.0.tgz", integrity: integrity(bytes) } } } });
  if (what === name + "/-/" + name + "-1.0.0.tgz") return new Response(bytes);
  return new Response("not found", { status: 404 });
} });
process.stdout.write(String(server.port) + "\\n");
`;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "build-ort-"));
  good = tarball(join(base, "good"), "the real library");
  evil = tarball(join(base, "evil"), "something else!!");
  pin = { name: "gigastt-pin-fixture", version: "1.0.0", integrity: integrityOf(good) };
  writeFileSync(join(base, "requests.log"), "");
  writeFileSync(join(base, "registry.js"), REGISTRY);
  server = Bun.spawn([process.execPath, join(base, "registry.js"), base, pin.name], { stdout: "pipe", stderr: "inherit" });
  const reader = (server.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("registry exited");
    out += new TextDecoder().decode(value);
  }
  registry = `http://127.0.0.1:${out.trim()}/good`;
});

afterAll(() => {
  server?.kill();
  if (base) rmSync(base, { recursive: true, force: true });
});

test("the pinned tarball is verified, unpacked once into <cache>/<version>/node_modules, then reused", () => {
  const cache = join(base, "cache-good");
  const nm = ensurePinnedPackages([pin], cache, { registry });
  expect(nm).toBe(join(cache, "1.0.0", "node_modules"));
  expect(readFileSync(join(nm, pin.name, "bin", "lib.so"), "utf8")).toBe("the real library");
  expect(readFileSync(join(nm, pin.name, ".gigastt-integrity"), "utf8")).toBe(pin.integrity);
  const before = requests();
  expect(before).toContain(`/good/${pin.name}/-/${pin.name}-1.0.0.tgz`);
  expect(ensurePinnedPackages([pin], cache, { registry })).toBe(nm);
  expect(requests()).toEqual(before); // nothing fetched again
}, 30_000);

test("a registry serving other bytes (metadata consistent with them) is refused; nothing is unpacked or kept", () => {
  const cache = join(base, "cache-evil");
  const evilRegistry = registry.replace(/\/good$/, "/evil");
  expect(() => ensurePinnedPackages([pin], cache, { registry: evilRegistry })).toThrow(
    `gigastt-pin-fixture@1.0.0: tarball integrity ${integrityOf(evil)} does not match the pinned ${pin.integrity}`,
  );
  expect(existsSync(join(cache, "1.0.0", "node_modules", pin.name))).toBe(false);
  expect(readdirSync(join(cache, "1.0.0", "tarballs"))).toEqual([]);
}, 30_000);
