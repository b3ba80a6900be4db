import { expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import ortPkg from "onnxruntime-node/package.json" with { type: "json" };
import { buildInfo, versionString } from "./build-info.ts";

test("from source: package version, the checkout's commit, onnxruntime-node's version, this platform", () => {
  const info = buildInfo();
  expect(info.compiled).toBe(false);
  expect(info.version).toBe(pkg.version);
  expect(info.onnxruntime).toBe(ortPkg.version);
  expect(info.target).toBe(`${process.platform}-${process.arch}`);
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: import.meta.dir }).stdout.toString().trim();
  expect(info.commit).toBe(head);
});

test("version line names all four", () => {
  expect(versionString({ version: "1.2.3", commit: "abcdef123456", onnxruntime: "1.30.0", target: "linux-arm64", compiled: true })).toBe(
    "1.2.3 (commit abcdef123456, onnxruntime 1.30.0, linux-arm64)",
  );
  expect(versionString({ version: "1.2.3", commit: "unknown", onnxruntime: "1.30.0", target: "linux-x64", compiled: false })).toBe(
    "1.2.3 (commit unknown, onnxruntime 1.30.0, linux-x64, source)",
  );
});
