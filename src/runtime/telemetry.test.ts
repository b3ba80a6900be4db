import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildToneModel } from "../../scripts/make-tone-model.ts";

/** A child process that creates one onnxruntime session, optionally after disableOrtTelemetry(); what it left behind. */
async function sessionLeftovers(base: string, disable: boolean): Promise<{ code: number; tmp: string[]; deviceStore: boolean; set: string }> {
  const dir = mkdtempSync(join(base, disable ? "off-" : "on-"));
  const home = join(dir, "home");
  const tmp = join(dir, "tmp");
  mkdirSync(home);
  mkdirSync(tmp);
  const script = join(dir, "child.ts");
  writeFileSync(
    script,
    `import { disableOrtTelemetry } from ${JSON.stringify(join(import.meta.dir, "telemetry.ts"))};
     const set = ${disable} ? String(disableOrtTelemetry()) : "-";
     const { createSession } = await import(${JSON.stringify(join(import.meta.dir, "ort.ts"))});
     const s = await createSession(${JSON.stringify(join(base, "joint.onnx"))});
     await s.release();
     process.stdout.write(set);`,
  );
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TMPDIR: tmp };
  const p = Bun.spawn([process.execPath, script], { env, cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [code, set] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  return { code, tmp: readdirSync(tmp), deviceStore: existsSync(join(home, ".cache", "Microsoft")), set };
}

test("disableOrtTelemetry: onnxruntime leaves no telemetry files (it does without)", async () => {
  const base = mkdtempSync(join(tmpdir(), "ort-telemetry-"));
  writeFileSync(join(base, "joint.onnx"), buildToneModel(["▁да", "▁нет"]).joint);
  const [on, off] = await Promise.all([sessionLeftovers(base, false), sessionLeftovers(base, true)]);
  expect(on.code).toBe(0);
  // onnxruntime 1.30's default: a mat-debug log in TMPDIR and a device-id store under HOME
  expect(on.tmp.some((f) => /^mat-debug-\d+\.log$/.test(f))).toBe(true);
  expect(on.deviceStore).toBe(true);
  expect(off).toEqual({ code: 0, tmp: [], deviceStore: false, set: "true" });
}, 30_000);
