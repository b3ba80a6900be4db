/**
 * A scripted Worker for the pool tests: speaks the real protocol (serveWorker)
 * without a model. Job payloads say what to do.
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { GigasttError } from "../../src/errors.ts";
import { serveWorker } from "../../src/engine/protocol.ts";

export type ScriptedJob =
  | { readonly op: "echo"; readonly value: string; readonly delayMs?: number }
  | { readonly op: "fail"; readonly code: "invalid_audio" | "inference_error" }
  | { readonly op: "throw-plain" }
  | { readonly op: "crash" }
  | { readonly op: "uncaught" }
  | { readonly op: "hang" }
  | { readonly op: "sum"; readonly samples: Float32Array };

export interface ScriptedInit {
  readonly tag: string;
  readonly failInit?: boolean;
  /** init takes this long, and appends "start"/"end" lines to `initLog` */
  readonly initDelayMs?: number;
  readonly initLog?: string;
  /** init fails while this file exists (a replacement Worker that cannot load) */
  readonly failInitIfExists?: string;
  /** the first Worker to create this file fails to load, the others load (a degraded start) */
  readonly failFirstInit?: string;
}

serveWorker<ScriptedInit, ScriptedJob, string, { tag: string }>({
  async init(init) {
    if (init.initLog) appendFileSync(init.initLog, "start\n");
    if (init.initDelayMs) await Bun.sleep(init.initDelayMs);
    if (init.initLog) appendFileSync(init.initLog, "end\n");
    if (init.failInit || (init.failInitIfExists && existsSync(init.failInitIfExists))) throw new GigasttError("model_invalid", "scripted init failure");
    if (init.failFirstInit && firstToCreate(init.failFirstInit)) throw new GigasttError("model_invalid", "scripted init failure of the first Worker");
    return { tag: init.tag };
  },
  async job(p) {
    switch (p.op) {
      case "echo":
        if (p.delayMs) await Bun.sleep(p.delayMs);
        return { result: p.value };
      case "fail":
        throw new GigasttError(p.code, `scripted ${p.code}`);
      case "throw-plain":
        throw new Error("secret internal detail");
      case "crash":
        process.exit(7);
      case "uncaught":
        setTimeout(() => {
          throw new Error("uncaught failure in worker");
        });
        return new Promise(() => {}); // never answers: the error event ends it
      case "hang":
        return new Promise(() => {}); // a decode stuck for good (a native call that never returns)
      case "sum":
        return { result: String(p.samples.reduce((a, b) => a + b, 0)) };
    }
  },
});

/** true for the one caller that creates `path` (exclusive create) */
function firstToCreate(path: string): boolean {
  try {
    writeFileSync(path, "", { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}
