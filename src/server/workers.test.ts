import { expect, test } from "bun:test";
import { parseServeConfig } from "./config.ts";
import { BASE_BYTES, chooseWorkers, WORKER_BYTES } from "./workers.ts";

const GB = 1e9;

test("one Worker per core when memory allows it", () => {
  const c = chooseWorkers({ cores: 4, availableBytes: 32 * GB, precision: "fp32" });
  expect(c).toMatchObject({ workers: 4, limitedBy: "cores" });
  expect(c.reason).toContain("one Worker per CPU core (4)");
});

test("a 16-core host with 8 GB available gets what 8 GB holds at ≈ 865 MB per fp32 Worker, not 16", () => {
  const c = chooseWorkers({ cores: 16, availableBytes: 8 * GB, precision: "fp32" });
  expect(c.workers).toBe(Math.floor((8 * GB - BASE_BYTES) / WORKER_BYTES.fp32));
  expect(c.workers).toBe(8);
  expect(c.limitedBy).toBe("memory");
  expect(c.reason).toContain("fewer than the 16 CPU cores");
  expect(c.reason).toContain("--workers N");
});

test("int8 Workers are smaller, so more fit; never fewer than 1", () => {
  expect(chooseWorkers({ cores: 16, availableBytes: 4 * GB, precision: "int8" }).workers).toBe(14);
  expect(chooseWorkers({ cores: 8, availableBytes: 0.5 * GB, precision: "fp32" }).workers).toBe(1);
});

test("serve's default --workers uses cores and memory; an explicit count is kept as given", () => {
  const c = parseServeConfig([], {}, { isTTY: false, cpus: 16, availableBytes: 4 * GB });
  expect(c.workers).toBe(4);
  expect(c.workersChoice?.limitedBy).toBe("memory");
  const given = parseServeConfig(["--workers", "12"], {}, { isTTY: false, cpus: 16, availableBytes: 4 * GB });
  expect([given.workers, given.workersChoice]).toEqual([12, null]);
  expect(parseServeConfig([], { GIGASTT_WORKERS: "3" }, { isTTY: false, cpus: 16, availableBytes: 1 * GB }).workers).toBe(3);
  // --precision int8 sizes by the int8 Worker
  expect(parseServeConfig(["--precision", "int8"], {}, { isTTY: false, cpus: 16, availableBytes: 4 * GB }).workers).toBe(14);
});
