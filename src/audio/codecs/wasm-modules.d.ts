/**
 * Types for the WASM decoders' main-thread classes, imported by file path: Bun's
 * bundler drops the packages' `*DecoderWebWorker` classes from `bun build --compile`
 * output, so their index files fail at start; the `src/<X>Decoder.js` files work.
 */
interface WasmDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string; frameNumber?: number; inputBytes?: number }[];
}

declare module "#codec/mpg123" {
  export default class MPEGDecoder {
    constructor(options?: { enableGapless?: boolean });
    ready: Promise<void>;
    decode(data: Uint8Array): WasmDecoded;
    free(): void;
  }
}

declare module "#codec/flac" {
  export default class FLACDecoder {
    ready: Promise<void>;
    decode(data: Uint8Array): Promise<WasmDecoded>;
    flush(): Promise<WasmDecoded>;
    reset(): Promise<void>;
    free(): void;
  }
}

declare module "#codec/ogg-vorbis" {
  export default class OggVorbisDecoder {
    ready: Promise<void>;
    decode(data: Uint8Array): Promise<WasmDecoded>;
    flush(): Promise<WasmDecoded>;
    free(): void;
  }
}

declare module "#codec/opus" {
  export default class OpusDecoder {
    constructor(options?: {
      sampleRate?: number;
      channels?: number;
      streamCount?: number;
      coupledStreamCount?: number;
      channelMappingTable?: number[];
      preSkip?: number;
    });
    ready: Promise<void>;
    decodeFrame(data: Uint8Array): WasmDecoded;
    free(): void;
  }
}

declare module "#codec/ogg-vorbis" {
  /** the raw-packet Vorbis decoder behind OggVorbisDecoder (used for Vorbis in WebM) */
  export class Decoder {
    ready: Promise<void>;
    sendSetupHeader(data: Uint8Array): void;
    initDsp(): void;
    decodePackets(packets: Uint8Array[]): WasmDecoded;
    free(): void;
  }
}

/** `import p from "./x.wasm" with { type: "file" }`: the embedded file's path (Bun). */
declare module "*.wasm" {
  const path: string;
  export default path;
}
