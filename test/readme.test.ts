/** The README is part of the product: its tables must match the code. */
import { expect, test } from "bun:test";
import { errorTable } from "../scripts/gen-error-table.ts";
import { main } from "../src/main.ts";

const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();

async function resolve<T>(v: unknown): Promise<T> {
  return (typeof v === "function" ? await (v as () => unknown)() : await v) as T;
}

test("the error-code table is the one generated from src/errors.ts", () => {
  expect(readme).toContain(errorTable());
});

test("every command and every flag of every command is documented", async () => {
  const subs = await resolve<Record<string, unknown>>(main.subCommands);
  const missing: string[] = [];
  for (const [name, sub] of Object.entries(subs)) {
    if (!readme.includes(`gigastt ${name}`)) missing.push(`command ${name}`);
    const cmd = await resolve<{ args?: unknown; subCommands?: unknown }>(sub);
    const nested = cmd.subCommands ? Object.values(await resolve<Record<string, unknown>>(cmd.subCommands)) : [cmd];
    for (const c of nested) {
      const args = await resolve<Record<string, { type?: string }>>((await resolve<{ args?: unknown }>(c)).args ?? {});
      for (const [flag, def] of Object.entries(args)) {
        if (def.type === "positional") continue;
        if (!new RegExp(`--${flag}(?![a-z-])`).test(readme)) missing.push(`${name} --${flag}`);
      }
    }
  }
  expect(missing).toEqual([]);
});

test("the quick start names the two commands that set up and run the server and the tests", () => {
  expect(readme).toContain("npm install -g bun@1.4.5 && bun install && bun src/main.ts serve");
  expect(readme).toContain("bash .ci/run");
});
