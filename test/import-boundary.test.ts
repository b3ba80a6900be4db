/**
 * Import boundaries of the source tree (issue 11), checked on the real files:
 * - the inference core (audio, frontend, decode, segment, model, engine, stream) never reaches,
 *   directly or through other modules, the server, Wyoming, the CLI, the logger or a network
 *   module;
 * - only src/runtime/ort.ts imports onnxruntime-node (model/rnnt.ts goes through it).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "..", "src");
const CORE = ["audio", "frontend", "decode", "segment", "model", "engine", "stream"];
/** what the core must never reach: folders/files of src, and packages */
const FORBIDDEN_LOCAL = ["server/", "wyoming/", "cli/", "log.ts"];
const FORBIDDEN_PACKAGES = ["consola", "elysia", "@elysiajs/cors", "node:net", "node:http", "node:https", "node:tls", "node:dgram", "net", "http", "https"];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(name) && !/\.(test|bench)\.ts$/.test(name)) out.push(p);
  }
  return out;
}

/** Every module specifier a file names: static and type imports, re-exports, import(), require(). */
function specifiers(code: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g, /\brequire\(\s*["']([^"']+)["']\s*\)/g];
  const stripped = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const re of patterns) for (const m of stripped.matchAll(re)) out.push(m[1]!);
  return out;
}

/** src-relative path of a relative specifier, or the package name */
function target(from: string, spec: string): { local: string } | { pkg: string } {
  if (!spec.startsWith(".")) return { pkg: spec };
  const p = resolve(dirname(from), spec);
  const file = existsSync(p) && statSync(p).isFile() ? p : existsSync(`${p}.ts`) ? `${p}.ts` : join(p, "index.ts");
  return { local: relative(SRC, file) };
}

const files = sourceFiles(SRC);
const graph = new Map<string, { local: string[]; pkgs: string[] }>();
for (const f of files) {
  const local: string[] = [];
  const pkgs: string[] = [];
  for (const s of specifiers(readFileSync(f, "utf8"))) {
    const t = target(f, s);
    if ("local" in t) local.push(t.local);
    else pkgs.push(t.pkg);
  }
  graph.set(relative(SRC, f), { local, pkgs });
}

/** a path from `start` to a forbidden module, or null */
function violation(start: string): string | null {
  const seen = new Set<string>([start]);
  const queue: { file: string; path: string[] }[] = [{ file: start, path: [start] }];
  while (queue.length > 0) {
    const { file, path } = queue.shift()!;
    const node = graph.get(file);
    if (!node) continue;
    for (const pkg of node.pkgs) if (FORBIDDEN_PACKAGES.includes(pkg)) return [...path, pkg].join(" → ");
    for (const next of node.local) {
      if (FORBIDDEN_LOCAL.some((f) => (f.endsWith("/") ? next.startsWith(f) : next === f))) return [...path, next].join(" → ");
      if (!seen.has(next)) {
        seen.add(next);
        queue.push({ file: next, path: [...path, next] });
      }
    }
  }
  return null;
}

describe("import boundaries", () => {
  test("the scanner sees the real imports (not a test that cannot fail)", () => {
    expect(graph.get("model/rnnt.ts")!.local).toContain("runtime/ort.ts");
    expect(graph.get("engine/worker.ts")!.local).toContain("model/rnnt.ts"); // a dynamic import()
    expect(graph.get("server/deps.ts")!.pkgs).toContain("consola"); // a type import
    expect(specifiers('import type { X } from "../server/deps.ts";\nexport { y } from "./y.ts";\nconst z = require("node:net");')).toEqual(["../server/deps.ts", "./y.ts", "node:net"]);
    // the rule catches a core module that reaches the server through another module
    expect(violation("server/routes/transcribe.ts")).not.toBeNull();
  });

  test("the core never reaches the server, Wyoming, the CLI, the logger or the network", () => {
    const core = [...graph.keys()].filter((f) => CORE.some((d) => f.startsWith(`${d}/`)));
    expect(core.length).toBeGreaterThan(20);
    expect(core.map(violation).filter((v) => v !== null)).toEqual([]);
  });

  test("Wyoming reaches the server only through the stream core's ports (no server/ module at all)", () => {
    const wyoming = [...graph.keys()].filter((f) => f.startsWith("wyoming/"));
    expect(wyoming.length).toBeGreaterThan(3);
    const reach = wyoming.flatMap((f) => graph.get(f)!.local.filter((t) => t.startsWith("server/")).map((t) => `${f} → ${t}`));
    expect(reach).toEqual([]);
    // its interface to the host is the core's (the session's WyomingDeps is built from stream/ports.ts)
    expect(graph.get("wyoming/session.ts")!.local).toContain("stream/ports.ts");
  });

  test("the live transports share the stream core: /v1/ws, Realtime and Wyoming run on its session lifecycle", () => {
    expect(graph.get("server/streaming/ws-session.ts")!.local).toContain("stream/live-session.ts");
    expect(graph.get("server/streaming/realtime.ts")!.local).toContain("stream/live-session.ts");
    for (const f of ["wyoming/session.ts", "stream/live-session.ts"]) expect(graph.get(f)!.local).toEqual(expect.arrayContaining(["stream/audio-stream.ts", "stream/connection.ts"]));
  });

  test("only src/runtime/ort.ts imports onnxruntime-node", () => {
    const importers = [...graph.entries()].filter(([, n]) => n.pkgs.includes("onnxruntime-node")).map(([f]) => f);
    expect(importers).toEqual(["runtime/ort.ts"]);
  });
});
