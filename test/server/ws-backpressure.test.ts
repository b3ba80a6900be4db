/**
 * A WebSocket client that never reads what the server sends: every bad text
 * frame earns an `error` message, so 200 k tiny frames would make the server
 * queue ~17 MB for it. Past WS_OUTBOUND_LIMIT (1 MiB) unread — Bun refuses
 * to buffer more for the socket — the session is cut (counted as
 * backlog_exceeded), the server closes the connection, its slot is freed,
 * and other clients are served meanwhile.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { closeToneTranscriber, finalText, pcm16, splitBytes, startToneServer, type TestServer, toneAt, WsClient } from "./streaming-helpers.ts";

const PHRASE = "привет мир, как дела?";
let srv: TestServer;
beforeAll(async () => {
  srv = await startToneServer(["--pool-size", "2", "--metrics"]);
});
afterAll(async () => {
  await srv.stop();
  await closeToneTranscriber();
});

/** a masked client text frame */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const out = Buffer.alloc(2 + 4 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

test("a client that never reads: cut after 1 MiB unread (backlog_exceeded), connection closed, slot freed, others served", async () => {
  const port = Number(new URL(srv.url).port);
  const sock = connect(port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", () => r()));
  let closed = false;
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  sock.write(`GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((r) => sock.once("data", () => r())); // the 101 (and maybe `ready`)
  sock.pause(); // never read again
  expect(srv.server.deps.admission.inUse).toBe(1);
  const burst = Buffer.concat(Array.from({ length: 1000 }, () => frame("x")));
  for (let i = 0; i < 200 && !closed && srv.server.deps.admission.inUse > 0; i++) {
    if (!sock.write(burst)) await Bun.sleep(5);
    else await Bun.sleep(1);
  }
  for (let i = 0; i < 200 && srv.server.deps.admission.inUse > 0; i++) await Bun.sleep(10);
  expect(srv.server.deps.admission.inUse).toBe(0); // the session ended and gave its slot back
  sock.resume(); // read what the kernel holds: then the server's hang-up shows
  for (let i = 0; i < 300 && !closed; i++) await Bun.sleep(10);
  expect(closed).toBe(true); // the server hung up: nothing more is buffered for this client
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  expect(metrics).toMatch(/gigastt_errors_total\{code="backlog_exceeded"\} [1-9]/);
  sock.destroy();
  // the server is fine for everyone else
  const c = await WsClient.open(srv.ws);
  await c.next("ready");
  for (const f of splitBytes(pcm16(toneAt(PHRASE, 48000)), 9600)) c.send(f);
  c.json({ type: "stop" });
  expect((await c.closed).code).toBe(1000);
  expect(finalText(c.messages)).toBe(PHRASE);
});
