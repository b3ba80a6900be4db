import { expect, test } from "bun:test";
import { parseRootfsList, readRootfsList } from "./build-rootfs.ts";

const TAIL = "user nonroot 65532 65532 /home/nonroot\nrun 65532:65532\nport 9876\nvolume /m\n";

test("the project's list: distroless cc-debian12 packages, nonroot 65532, port 9876, model volume", () => {
  const s = readRootfsList();
  expect(s.base).toEqual(["libc6", "libstdc++6", "libgcc-s1", "ca-certificates", "tzdata"]);
  expect(s.run).toEqual({ uid: 65532, gid: 65532 });
  expect(s.port).toBe(9876);
  expect(s.volume).toBe("/home/nonroot/.gigastt/models");
  expect(s.env.HOME).toBe("/home/nonroot");
  expect(s.entries.filter((e) => e.kind === "file")).toEqual([
    { kind: "file", path: "/usr/local/bin/gigastt", mode: 0o755, owner: "root", source: "dist/gigastt-linux-{arch}" },
    // the licences ship with the image
    { kind: "file", path: "/usr/share/doc/gigastt/THIRD_PARTY_NOTICES", mode: 0o644, owner: "root", source: "THIRD_PARTY_NOTICES" },
    { kind: "file", path: "/usr/share/doc/gigastt/LICENSE", mode: 0o644, owner: "root", source: "LICENSE" },
  ]);
});

test("malformed lines are refused with their line number", () => {
  expect(() => parseRootfsList(`base\n${TAIL}`)).toThrow(/line 1/);
  expect(() => parseRootfsList(`dir relative 0755 root\n${TAIL}`)).toThrow(/absolute path/);
  expect(() => parseRootfsList(`dir /a/../b 0755 root\n${TAIL}`)).toThrow(/absolute path/);
  expect(() => parseRootfsList(`dir /a 999 root\n${TAIL}`)).toThrow(/octal mode/);
  expect(() => parseRootfsList(`dir /a 0755 alice\n${TAIL}`)).toThrow(/owner/);
  expect(() => parseRootfsList(`copy /a /b\n${TAIL}`)).toThrow(/unknown kind 'copy'/);
  expect(() => parseRootfsList("user nonroot 65532 65532 /home/nonroot\n")).toThrow(/run, port and volume/);
  expect(() => parseRootfsList("user root 0 0 /root\nrun 0:0\nport 1\nvolume /m\n")).toThrow(/not the nonroot account/);
});
