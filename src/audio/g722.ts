/**
 * ITU-T G.722 (64 kbit/s sub-band ADPCM) decoder: each byte holds a 6-bit
 * lower-band and a 2-bit higher-band code; every byte gives two 16 kHz
 * samples through the receive QMF. Integer arithmetic as the Recommendation
 * specifies it (blocks INVQAL/INVQBL, LOGSCL/SCALEL, the pole/zero predictor
 * of block 4, the 24-tap QMF), so the output is bit-exact. Streaming: state
 * is kept between calls to `decode`.
 */

/** lower band: 6-bit inverse quantizer (INVQBL), 4-bit one (INVQAL) */
const QM6 = Int32Array.of(
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008,
  -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
);
const QM4 = Int32Array.of(0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0);
/** higher band: 2-bit inverse quantizer (INVQAH) */
const QM2 = [-7408, -1616, 7408, 1616];
/** log-scale factor adaptation (LOGSCL / LOGSCH) */
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];
/** inverse log table (SCALEL / SCALEH) */
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676,
  3756, 3838, 3922, 4008,
];
/** receive QMF coefficients (half of the symmetric 24 taps) */
const QMF = Int32Array.of(3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11);

const sat = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** one sub-band's adaptive predictor and scale factor */
class Band {
  s = 0;
  sp = 0;
  sz = 0;
  nb = 0;
  det: number;
  readonly r = new Int32Array(3);
  readonly p = new Int32Array(3);
  readonly a = new Int32Array(3);
  readonly ap = new Int32Array(3);
  readonly d = new Int32Array(7);
  readonly b = new Int32Array(7);
  readonly bp = new Int32Array(7);
  readonly sg = new Int32Array(7);

  constructor(det: number) {
    this.det = det;
  }

  /** new scale factor from the log scale `nb` (SCALEL: shift 8, SCALEH: shift 10) */
  scale(nb: number, shift: number): void {
    this.nb = nb;
    const wd1 = (nb >> 6) & 31;
    const wd2 = shift - (nb >> 11);
    this.det = (wd2 < 0 ? ILB[wd1]! << -wd2 : ILB[wd1]! >> wd2) << 2;
  }

  /** block 4: update the pole (2) and zero (6) predictor with the difference `dq` */
  update(dq: number): void {
    const { r, p, a, ap, d, b, bp, sg } = this;
    d[0] = dq;
    r[0] = sat(this.s + dq);
    p[0] = sat(this.sz + dq);
    const s0 = p[0]! >> 15;
    const s1 = p[1]! >> 15;
    const s2 = p[2]! >> 15;
    // UPPOL2
    const wd1 = sat(a[1]! << 2);
    let wd2 = s0 === s1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    const ap2 = clamp((wd2 >> 7) + (s0 === s2 ? 128 : -128) + ((a[2]! * 32512) >> 15), -12288, 12288);
    ap[2] = ap2;
    // UPPOL1
    const lim = sat(15360 - ap2);
    ap[1] = clamp(sat((s0 === s1 ? 192 : -192) + ((a[1]! * 32640) >> 15)), -lim, lim);
    // UPZERO
    const step = dq === 0 ? 0 : 128;
    const sgq = dq >> 15;
    for (let i = 1; i < 7; i++) {
      sg[i] = d[i]! >> 15;
      bp[i] = sat((sg[i] === sgq ? step : -step) + ((b[i]! * 32640) >> 15));
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1]!;
      b[i] = bp[i]!;
    }
    r[2] = r[1]!;
    r[1] = r[0]!;
    p[2] = p[1]!;
    p[1] = p[0]!;
    a[2] = ap[2]!;
    a[1] = ap[1]!;
    // FILTEP, FILTEZ, PREDIC
    this.sp = sat(((a[1]! * sat(r[1]! * 2)) >> 15) + ((a[2]! * sat(r[2]! * 2)) >> 15));
    let sz = 0;
    for (let i = 6; i > 0; i--) sz += (b[i]! * sat(d[i]! * 2)) >> 15;
    this.sz = sat(sz);
    this.s = sat(this.sp + this.sz);
  }
}

export class G722Decoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  /** QMF delay line, each value twice (slots k and k + 24), so the 24 newest are x[pos..pos+24) */
  private readonly x = new Int32Array(48);
  private pos = 0;

  /** two int16 samples (16 kHz) per input byte */
  decode(bytes: Uint8Array): Int16Array {
    const out = new Int16Array(bytes.length * 2);
    const { low, high, x } = this;
    for (let j = 0; j < bytes.length; j++) {
      const code = bytes[j]!;
      const ilow = code & 0x3f;
      const ihigh = code >> 6;
      // lower band: reconstruct with the 6-bit code, adapt with its 4 leading bits
      const rlow = clamp(low.s + ((low.det * QM6[ilow]!) >> 15), -16384, 16383);
      const dlow = (low.det * QM4[ilow >> 2]!) >> 15;
      low.scale(clamp(((low.nb * 127) >> 7) + WL[RL42[ilow >> 2]!]!, 0, 18432), 8);
      low.update(dlow);
      // higher band
      const dhigh = (high.det * QM2[ihigh]!) >> 15;
      const rhigh = clamp(dhigh + high.s, -16384, 16383);
      high.scale(clamp(((high.nb * 127) >> 7) + WH[RH2[ihigh]!]!, 0, 22528), 10);
      high.update(dhigh);
      // receive QMF: the two oldest values of the 24-value window make room for the bands' sum and
      // difference; each value is kept at slot k and k + 24, so the window is x[head..head+24)
      const old = this.pos;
      x[old] = x[old + 24] = rlow + rhigh;
      x[old + 1] = x[old + 25] = rlow - rhigh;
      const at = old === 22 ? 0 : old + 2;
      this.pos = at;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += x[at + 2 * i]! * QMF[i]!;
        xout1 += x[at + 2 * i + 1]! * QMF[11 - i]!;
      }
      out[2 * j] = sat(xout1 >> 11);
      out[2 * j + 1] = sat(xout2 >> 11);
    }
    return out;
  }
}
