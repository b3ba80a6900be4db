/**
 * Raw little-endian signed 16-bit PCM (the WebSocket audio frames) → float.
 * Samples are scaled by 1/32768. An odd trailing byte is kept and joined with
 * the first byte of the next push, so odd-length frames never shift the phase
 * of later audio.
 */
export class Pcm16Decoder {
  private pending = -1;

  /** true when an odd byte is waiting for its partner */
  get hasPendingByte(): boolean {
    return this.pending >= 0;
  }

  push(bytes: Uint8Array): Float32Array {
    let i = 0;
    const lead = this.pending >= 0 && bytes.length > 0 ? 1 : 0;
    const n = lead + Math.floor((bytes.length - lead) / 2);
    const out = new Float32Array(n);
    if (lead) {
      const v = this.pending | (bytes[0]! << 8);
      out[0] = ((v << 16) >> 16) / 32768;
      this.pending = -1;
      i = 1;
    }
    for (let o = lead; o < n; o++, i += 2) {
      const v = bytes[i]! | (bytes[i + 1]! << 8);
      out[o] = ((v << 16) >> 16) / 32768;
    }
    if (i < bytes.length) this.pending = bytes[i]!;
    return out;
  }

  /** Drop a pending odd byte (end of stream); returns whether one was dropped. */
  reset(): boolean {
    const had = this.pending >= 0;
    this.pending = -1;
    return had;
  }
}
