/**
 * IMA ADPCM (WAV format tag 0x0011, the DVI/Intel variant): one block = per channel a
 * 4-byte header (first sample, step index), then 4-byte groups of 8 nibbles per
 * channel, interleaved. Output: mono (channel mean), `samplesPerBlock` per block.
 */
const STEPS = Int16Array.from([
  7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
  253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
  3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
]);
const INDEX = Int8Array.from([-1, -1, -1, -1, 2, 4, 6, 8, -1, -1, -1, -1, 2, 4, 6, 8]);

/** Samples per channel in one block of `blockAlign` bytes. */
export function imaSamplesPerBlock(blockAlign: number, channels: number): number {
  return ((blockAlign - 4 * channels) * 8) / (4 * channels) + 1;
}

/**
 * Decodes one block at `b[at..at+blockAlign)` into `outs[c][o..o+spb)` per channel
 * (`outs.length === 1`: the channel mean into outs[0]).
 */
export function decodeImaBlock(b: Uint8Array, at: number, blockAlign: number, channels: number, spb: number, outs: Float32Array[], o: number): void {
  const mix = outs.length === 1 && channels > 1;
  const scale = mix ? 1 / (32768 * channels) : 1 / 32768;
  if (mix) outs[0]!.fill(0, o, o + spb);
  for (let c = 0; c < channels; c++) {
    const out = outs[mix ? 0 : c]!;
    const h = at + 4 * c;
    let pred = (b[h]! | (b[h + 1]! << 8)) << 16 >> 16;
    let idx = Math.min(88, b[h + 2]!);
    let n = 0;
    const put = (v: number) => {
      if (mix) out[o + n] = out[o + n]! + v * scale;
      else out[o + n] = v * scale;
      n++;
    };
    put(pred);
    // groups of 4 bytes for this channel, after all headers
    for (let g = at + 4 * channels + 4 * c; g + 4 <= at + blockAlign && n < spb; g += 4 * channels) {
      for (let k = 0; k < 8 && n < spb; k++) {
        const byte = b[g + (k >> 1)]!;
        const nib = k & 1 ? byte >> 4 : byte & 0x0f;
        const step = STEPS[idx]!;
        let diff = step >> 3;
        if (nib & 4) diff += step;
        if (nib & 2) diff += step >> 1;
        if (nib & 1) diff += step >> 2;
        pred += nib & 8 ? -diff : diff;
        if (pred > 32767) pred = 32767;
        else if (pred < -32768) pred = -32768;
        idx += INDEX[nib]!;
        if (idx < 0) idx = 0;
        else if (idx > 88) idx = 88;
        put(pred);
      }
    }
  }
}
