/** `import p from "./x.onnx" with { type: "file" }`: the embedded file's path (Bun; inside the executable in a compiled build). */
declare module "*.onnx" {
  const path: string;
  export default path;
}
