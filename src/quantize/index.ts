export { INT8_ENCODER, type QuantizeFileOptions, type QuantizeFileResult, quantizeEncoderFile } from "./file.ts";
export { floatData, MIN_ELEMENTS, QuantizeError, type QuantizeMode, type QuantizeStats, quantizeColumns, quantizeModel, quantizeRows } from "./rewrite.ts";
