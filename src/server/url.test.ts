import { expect, test } from "bun:test";
import { pathOf, queryParam } from "./url.ts";

test("pathOf: absolute URLs, URLs without a host, queries", () => {
  expect(pathOf("http://127.0.0.1:9876/v1/ws?sample_rate=8000")).toBe("/v1/ws");
  expect(pathOf("http://127.0.0.1:9876")).toBe("/");
  expect(pathOf("/v1/ws?x=1")).toBe("/v1/ws");
  expect(pathOf("http:///v1/ws")).toBe("/v1/ws");
  expect(pathOf("")).toBe("/");
  expect(pathOf("http://h/a?b=/c")).toBe("/a");
});

test("queryParam reads one parameter without URL parsing", () => {
  expect(queryParam("/v1/ws?sample_rate=8000", "sample_rate")).toBe("8000");
  expect(queryParam("http://h/v1/ws?a=1&sample_rate=48000#f", "sample_rate")).toBe("48000");
  expect(queryParam("/v1/ws", "sample_rate")).toBeNull();
});
