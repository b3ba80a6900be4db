import { expect, test } from "bun:test";
import { cidrContains, formatIp, isLoopbackIp, parseCidr, parseIp } from "./net.ts";

const ip = (s: string) => parseIp(s)!;

test("parses and formats IPv4, IPv6 (bracketed, zoned, compressed) and maps ::ffff:a.b.c.d to IPv4", () => {
  expect(formatIp(ip("10.1.2.3"))).toBe("10.1.2.3");
  expect(formatIp(ip("[::1]"))).toBe("::1");
  expect(formatIp(ip("fe80::1%eth0"))).toBe("fe80::1");
  expect(formatIp(ip("2001:0db8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
  expect(formatIp(ip("::ffff:127.0.0.1"))).toBe("127.0.0.1");
  expect(ip("::ffff:127.0.0.1").family).toBe(4);
  expect(formatIp(ip("1:0:0:2:0:0:0:3"))).toBe("1:0:0:2::3");
  for (const bad of ["", "localhost", "1.2.3", "1.2.3.256", "::g", "[1.2.3.4]x", "example.com"]) expect(parseIp(bad)).toBeNull();
});

test("loopback is 127.0.0.0/8 and ::1 (mapped too)", () => {
  for (const s of ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.2"]) expect(isLoopbackIp(ip(s))).toBe(true);
  for (const s of ["128.0.0.1", "::2", "10.0.0.1", "::"]) expect(isLoopbackIp(ip(s))).toBe(false);
});

test("CIDRs: masking, bare addresses, bounds, family mismatch", () => {
  expect(parseCidr("10.1.2.3/8")!.text).toBe("10.0.0.0/8");
  expect(parseCidr("192.168.1.1")!.text).toBe("192.168.1.1/32");
  expect(parseCidr("fd12:3456::1/16")!.text).toBe("fd12::/16");
  expect(parseCidr("0.0.0.0/0")!.text).toBe("0.0.0.0/0");
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "nope/8", "10.0.0.0/-1"]) expect(parseCidr(bad)).toBeNull();
  const c = parseCidr("172.16.0.0/12")!;
  expect(cidrContains(c, ip("172.31.255.255"))).toBe(true);
  expect(cidrContains(c, ip("172.32.0.0"))).toBe(false);
  expect(cidrContains(parseCidr("0.0.0.0/0")!, ip("8.8.8.8"))).toBe(true);
  expect(cidrContains(parseCidr("0.0.0.0/0")!, ip("::1"))).toBe(false);
  expect(cidrContains(parseCidr("fd00::/8")!, ip("fdff::1"))).toBe(true);
  expect(cidrContains(parseCidr("10.0.0.0/8")!, ip("::ffff:10.9.9.9"))).toBe(true);
});
