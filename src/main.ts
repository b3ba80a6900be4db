#!/usr/bin/env bun
/** gigastt CLI entry: `bun src/main.ts <command>` behaves like the compiled binary. */
import { defineCommand } from "citty";
import pkg from "../package.json" with { type: "json" };
import { runCli } from "./cli/run.ts";

export const main = defineCommand({
  meta: { name: "gigastt", version: pkg.version, description: "Local-first Russian speech-to-text (GigaAM v3)" },
  subCommands: {
    // one line per command; each module default-exports a citty command
    // <commands>
    download: () => import("./cli/download.ts").then((m) => m.default),
    models: () => import("./cli/models.ts").then((m) => m.default),
    transcribe: () => import("./cli/transcribe.ts").then((m) => m.default),
  },
});

if (import.meta.main) {
  const code = await runCli(main, process.argv.slice(2));
  process.exitCode = code;
}
