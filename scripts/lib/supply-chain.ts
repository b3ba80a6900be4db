/**
 * Supply chain of the executable: which npm packages it carries (the runtime
 * closure of package.json's dependencies, resolved through bun.lock), their
 * licences against an allowlist, the THIRD_PARTY_NOTICES text and a
 * CycloneDX SBOM. Pure functions over the lockfile and package.json files;
 * scripts/supply-chain.ts is the CLI and scripts/release.ts writes the
 * notices and the SBOM into dist/.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** SPDX ids a runtime dependency may carry (permissive, MIT-compatible). */
export const LICENSE_ALLOWLIST: ReadonlySet<string> = new Set([
  "MIT",
  "MIT-0",
  "ISC",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "Apache-2.0",
  "MPL-2.0",
  "0BSD",
  "Unlicense",
  "BlueOak-1.0.0",
  "CC0-1.0",
  "Zlib",
  "Python-2.0",
]);

/**
 * Runtime dependencies allowed although their licence is off the allowlist, each pinned to one
 * version with the reason (a new version, or any other such package, fails the check again).
 */
export const LICENSE_EXCEPTIONS: Readonly<Record<string, string>> = Object.freeze({
  "codec-parser@2.5.0":
    "LGPL-3.0-or-later: frame parsing inside the FLAC and Vorbis decoders (issue 12); shipped unmodified as a separate module of the bundle, its source public, its licence text in THIRD_PARTY_NOTICES",
});

export interface LockPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
  readonly dependencies: Readonly<Record<string, string>>;
}

export interface Lock {
  readonly rootDependencies: readonly string[];
  /** lock key → package ("name" or "parent/name" for a nested copy) */
  readonly packages: ReadonlyMap<string, LockPackage>;
}

/** bun.lock (JSON with trailing commas) → the root's runtime dependencies and every package */
export function parseLock(text: string): Lock {
  const doc = JSON.parse(text.replace(/,(\s*[}\]])/g, "$1")) as {
    workspaces: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
    packages: Record<
      string,
      [string, string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string>; optionalPeers?: string[] }, string?]
    >;
  };
  const root = doc.workspaces[""] ?? {};
  const packages = new Map<string, LockPackage>();
  for (const [key, entry] of Object.entries(doc.packages)) {
    const spec = entry[0];
    const at = spec.lastIndexOf("@");
    const meta = entry[2] ?? {};
    // required peers are installed and loaded at run time (elysia's @sinclair/typebox, file-type…); optional ones are not counted
    const peers = Object.fromEntries(Object.entries(meta.peerDependencies ?? {}).filter(([n]) => !(meta.optionalPeers ?? []).includes(n)));
    packages.set(key, {
      name: spec.slice(0, at),
      version: spec.slice(at + 1),
      integrity: entry[3] ?? "",
      dependencies: { ...(meta.dependencies ?? {}), ...(meta.optionalDependencies ?? {}), ...peers },
    });
  }
  return { rootDependencies: Object.keys({ ...(root.dependencies ?? {}), ...(root.optionalDependencies ?? {}) }).sort(), packages };
}

/** The runtime closure: every package reachable from the root's dependencies (not devDependencies), sorted by name. */
export function runtimePackages(lock: Lock): LockPackage[] {
  const seen = new Map<string, LockPackage>();
  const walk = (name: string, parentKey: string | null) => {
    // bun.lock keys a nested copy as "parent/name"
    const key = parentKey && lock.packages.has(`${parentKey}/${name}`) ? `${parentKey}/${name}` : name;
    const p = lock.packages.get(key);
    if (!p) throw new Error(`bun.lock has no entry for ${name}${parentKey ? ` (needed by ${parentKey})` : ""}`);
    const id = `${p.name}@${p.version}`;
    if (seen.has(id)) return;
    seen.set(id, p);
    for (const dep of Object.keys(p.dependencies)) walk(dep, key);
  };
  for (const d of lock.rootDependencies) walk(d, null);
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** The licence field of a package.json as an SPDX expression ("license", or the old "licenses" array). */
export function licenseOf(pkg: { license?: unknown; licenses?: unknown }): string | null {
  if (typeof pkg.license === "string" && pkg.license.trim()) return pkg.license.trim();
  if (pkg.license && typeof (pkg.license as { type?: unknown }).type === "string") return (pkg.license as { type: string }).type;
  if (Array.isArray(pkg.licenses)) {
    const ids = pkg.licenses.map((l) => (typeof l === "string" ? l : (l as { type?: string })?.type)).filter((x): x is string => !!x);
    if (ids.length) return ids.length === 1 ? ids[0]! : `(${ids.join(" OR ")})`;
  }
  return null;
}

/**
 * Whether an SPDX expression is acceptable: every term of an AND, at least
 * one alternative of an OR, must be on the allowlist (parentheses allowed;
 * `WITH` exceptions are not accepted).
 */
export function licenseAllowed(expr: string | null, allow: ReadonlySet<string> = LICENSE_ALLOWLIST): boolean {
  if (!expr) return false;
  const tokens = expr.replace(/[()]/g, (m) => ` ${m} `).trim().split(/\s+/);
  let i = 0;
  const parseOr = (): boolean => {
    let ok = parseAnd();
    while (tokens[i] === "OR") {
      i++;
      ok = parseAnd() || ok;
    }
    return ok;
  };
  const parseAnd = (): boolean => {
    let ok = parseTerm();
    while (tokens[i] === "AND") {
      i++;
      ok = parseTerm() && ok;
    }
    return ok;
  };
  const parseTerm = (): boolean => {
    const t = tokens[i++];
    if (t === "(") {
      const ok = parseOr();
      if (tokens[i++] !== ")") throw new Error(`unbalanced licence expression: ${expr}`);
      return ok;
    }
    if (t === undefined || t === ")" || t === "AND" || t === "OR" || t === "WITH") throw new Error(`bad licence expression: ${expr}`);
    if (tokens[i] === "WITH") {
      i += 2;
      return false;
    }
    return allow.has(t.replace(/\+$/, ""));
  };
  try {
    const ok = parseOr();
    return i === tokens.length && ok;
  } catch {
    return false;
  }
}

export interface InstalledPackage extends LockPackage {
  readonly license: string | null;
  /** LICENSE / LICENCE / COPYING text shipped in the package, if any */
  readonly licenseText: string | null;
  readonly homepage: string | null;
}

/** Reads each package's package.json and licence file from `nodeModules`. */
export function installed(packages: readonly LockPackage[], nodeModules: string): InstalledPackage[] {
  return packages.map((p) => {
    const dir = join(nodeModules, p.name);
    const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string; license?: unknown; licenses?: unknown; homepage?: unknown; repository?: unknown };
    if (pj.version !== p.version) throw new Error(`node_modules/${p.name} is ${pj.version}, bun.lock says ${p.version}: run bun install --frozen-lockfile`);
    const file = existsSync(dir) ? readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f)) : undefined;
    const repo = typeof pj.repository === "string" ? pj.repository : ((pj.repository as { url?: string } | undefined)?.url ?? null);
    const license = licenseOf(pj);
    const author = typeof (pj as { author?: unknown }).author === "string" ? (pj as { author: string }).author : ((pj as { author?: { name?: string } }).author?.name ?? null);
    return {
      ...p,
      license,
      licenseText: file ? readFileSync(join(dir, file), "utf8").trim() : license === "MIT" ? mitText(author ?? `the ${p.name} authors`) : null,
      homepage: typeof pj.homepage === "string" ? pj.homepage : repo,
    };
  });
}

/** The MIT licence text, for packages that declare MIT but ship no licence file. */
export function mitText(holder: string): string {
  return `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;
}

/** Components the executable embeds besides the npm packages. */
export interface NativeComponent {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly url: string;
  readonly note: string;
}

export function nativeComponents(bunVersion: string, ortVersions: readonly string[]): NativeComponent[] {
  return [
    {
      name: "libmpg123",
      version: "(inside mpg123-decoder)",
      license: "LGPL-2.1",
      url: "https://www.mpg123.de/",
      note: "MP3 decoding, compiled to WebAssembly inside the mpg123-decoder npm package (MIT) and embedded unmodified.",
    },
    {
      name: "libFLAC, libvorbis, libopus",
      version: "(inside the @wasm-audio-decoders packages and opus-decoder)",
      license: "BSD-3-Clause",
      url: "https://github.com/eshaz/wasm-audio-decoders",
      note: "FLAC, Vorbis and Opus decoding, compiled to WebAssembly inside their npm packages (MIT) and embedded unmodified.",
    },
    {
      name: "symphonia-core, symphonia-codec-aac",
      version: "0.5.5",
      license: "MPL-2.0",
      url: "https://github.com/pdeljanov/Symphonia",
      note: "AAC-LC decoding: the Rust crates from crates.io, built unmodified to src/audio/codecs/aac.wasm by native/aac-wasm/build.sh and embedded.",
    },
    {
      name: "bun",
      version: bunVersion,
      license: "MIT",
      url: "https://github.com/oven-sh/bun",
      note:
        "The runtime every gigastt executable is built on (bun build --compile). Bun statically links JavaScriptCore/WebKit (LGPL-2.0; the " +
        "patched source is https://github.com/oven-sh/WebKit) and boringssl, brotli, libarchive, lol-html, mimalloc, picohttp, zstd, " +
        "simdutf, tinycc (LGPL-2.1), uSockets and a fork of uWebSockets (Apache-2.0), zlib-cloudflare, c-ares, ICU, libbase64, " +
        `libdeflate and parts of TigerBeetle's IO code; their licences are listed in https://github.com/oven-sh/bun/blob/bun-v${bunVersion}/LICENSE.md.`,
    },
    ...ortVersions.map((v) => ({
      name: "onnxruntime",
      version: v,
      license: "MIT",
      url: "https://github.com/microsoft/onnxruntime",
      note:
        `The native inference library (libonnxruntime and the onnxruntime-node addon ${v}), embedded and extracted at run time. ` +
        `Its own third-party components are listed in https://github.com/microsoft/onnxruntime/blob/v${v}/ThirdPartyNotices.txt.`,
    })),
  ];
}

/** THIRD_PARTY_NOTICES: every component embedded in the executable, with the licence texts the packages ship. */
export function noticesText(opts: { product: string; version: string; natives: readonly NativeComponent[]; packages: readonly InstalledPackage[] }): string {
  const out: string[] = [];
  out.push(`THIRD-PARTY NOTICES for ${opts.product} ${opts.version}`);
  out.push("");
  out.push(`${opts.product} is MIT-licensed (see LICENSE). Its executables embed the components below, each under its own licence.`);
  out.push("This file is generated by `bun scripts/supply-chain.ts notices` from package.json and bun.lock; do not edit it by hand.");
  out.push("");
  out.push("Native components");
  out.push("=================");
  for (const n of opts.natives) {
    out.push("");
    out.push(`${n.name} ${n.version} — ${n.license} — ${n.url}`);
    out.push(n.note);
  }
  out.push("");
  out.push("JavaScript packages (the runtime closure of package.json's dependencies)");
  out.push("========================================================================");
  for (const p of opts.packages) {
    out.push("");
    out.push("-".repeat(72));
    out.push(`${p.name} ${p.version} — ${p.license ?? "no licence declared"}${p.homepage ? ` — ${p.homepage}` : ""}`);
    out.push("");
    out.push(p.licenseText ?? `(the package ships no licence file; its package.json declares ${p.license ?? "nothing"})`);
  }
  out.push("");
  return out.join("\n");
}

function purl(name: string, version: string): string {
  const n = name.startsWith("@") ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${n}@${version}`;
}

/** sha512 integrity "sha512-<base64>" → CycloneDX hash */
function hashesOf(integrity: string): { alg: string; content: string }[] {
  const m = /^sha512-(.+)$/.exec(integrity);
  return m ? [{ alg: "SHA-512", content: Buffer.from(m[1]!, "base64").toString("hex") }] : [];
}

/** A CycloneDX 1.5 SBOM of the release: the executables (from SHA256SUMS) and everything they embed. */
export function cycloneDx(opts: {
  product: string;
  version: string;
  natives: readonly NativeComponent[];
  packages: readonly InstalledPackage[];
  /** file name → sha256 hex (SHA256SUMS) */
  artifacts: ReadonlyMap<string, string>;
  serial: string;
  timestamp: string;
}): Record<string, unknown> {
  const license = (id: string | null) => (id ? (/\s(AND|OR)\s|\(/.test(id) ? [{ expression: id }] : [{ license: { id } }]) : []);
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${opts.serial}`,
    version: 1,
    metadata: {
      timestamp: opts.timestamp,
      component: { type: "application", "bom-ref": `${opts.product}@${opts.version}`, name: opts.product, version: opts.version, licenses: license("MIT") },
    },
    components: [
      ...[...opts.artifacts].map(([file, sha]) => ({
        type: "file",
        "bom-ref": `file:${file}`,
        name: file,
        version: opts.version,
        hashes: [{ alg: "SHA-256", content: sha }],
      })),
      ...opts.natives.map((n) => ({
        type: n.name === "bun" ? "platform" : "library",
        "bom-ref": `${n.name}@${n.version}`,
        name: n.name,
        version: n.version,
        licenses: license(n.license),
        externalReferences: [{ type: "website", url: n.url }],
        description: n.note,
      })),
      ...opts.packages.map((p) => ({
        type: "library",
        "bom-ref": purl(p.name, p.version),
        name: p.name,
        version: p.version,
        purl: purl(p.name, p.version),
        licenses: license(p.license),
        hashes: hashesOf(p.integrity),
      })),
    ],
    dependencies: [{ ref: `${opts.product}@${opts.version}`, dependsOn: [...opts.natives.map((n) => `${n.name}@${n.version}`), ...opts.packages.map((p) => purl(p.name, p.version))] }],
  };
}
