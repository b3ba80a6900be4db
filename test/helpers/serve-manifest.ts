#!/usr/bin/env bun
/**
 * `gigastt serve` (argv as the real command's) whose model store reads the catalog
 * from the manifest in GIGASTT_TEST_MANIFEST, so a process test can run a first-run
 * download against a loopback Hugging Face stand-in (test/helpers/hf-server.ts).
 * Everything else is the real command: logger, store output, errors.
 */
import { main } from "../../src/main.ts";
import { runCli } from "../../src/cli/run.ts";
import { runServe } from "../../src/cli/serve.ts";
import { ensureModel } from "../../src/store/ensure.ts";

const manifest = process.env.GIGASTT_TEST_MANIFEST;
if (!manifest) throw new Error("GIGASTT_TEST_MANIFEST is not set");
const serve = (await (main.subCommands as Record<string, () => Promise<object>>).serve!()) as { run?: unknown };
// the real serve command (flags, error format), with the manifest's catalog
const cmd = { ...serve, run: ({ rawArgs }: { rawArgs: string[] }) => runServe(rawArgs, { obtainModel: (o) => ensureModel({ ...o, manifest }) }) };
process.exitCode = await runCli({ meta: { name: "gigastt" }, subCommands: { serve: cmd } } as never, process.argv.slice(2));
