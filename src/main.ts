#!/usr/bin/env bun
/** gigastt CLI entry: `bun src/main.ts <command>` behaves like the compiled binary. */
import { defineCommand } from "citty";
import { versionString } from "./runtime/build-info.ts";
import { runCli } from "./cli/run.ts";

export const main = defineCommand({
  // --version: package version, git commit, onnxruntime version, target (src/runtime/build-info.ts)
  meta: () => ({ name: "gigastt", version: versionString(), description: "Local-first Russian speech-to-text (GigaAM v3)" }),
  subCommands: {
    // one line per command; each module default-exports a citty command
    // <commands>
    serve: () => import("./cli/serve.ts").then((m) => m.default),
    healthcheck: () => import("./cli/healthcheck.ts").then((m) => m.default),
    download: () => import("./cli/download.ts").then((m) => m.default),
    models: () => import("./cli/models.ts").then((m) => m.default),
    transcribe: () => import("./cli/transcribe.ts").then((m) => m.default),
    quantize: () => import("./cli/quantize.ts").then((m) => m.default),
    jobs: () => import("./cli/jobs.ts").then((m) => m.default),
    "transcribe-batch": () => import("./cli/transcribe-batch.ts").then((m) => m.default),
    watch: () => import("./cli/watch.ts").then((m) => m.default),
    "cache-gc": () => import("./cli/cache-gc.ts").then((m) => m.default),
  },
});

if (import.meta.main) {
  const code = await runCli(main, process.argv.slice(2));
  process.exitCode = code;
}
