/**
 * onnxruntime 1.30 (every platform; 1.23 has none) starts Microsoft's 1DS
 * telemetry when its environment is created: a `mat-debug-<pid>.log` in the
 * temp folder for every process, a device-id database under
 * `~/.cache/Microsoft/DeveloperTools`, and with a read-only HOME a
 * `:memory:.ses` file in the working directory plus a warning on stderr; its
 * collector is `mobile.events.data.microsoft.com`. A local-first tool wants
 * none of that. `ORT_DISABLE_TELEMETRY=1` turns it off, but onnxruntime reads
 * the C environment, which Bun's `process.env` does not write through to, so
 * the variable is set with libc's `setenv`.
 *
 * Call on the main thread before the first Worker starts (Workers share the
 * process environment). A value the user set is kept. Never throws: when libc
 * cannot be reached the runtime simply keeps its default.
 */
import { dlopen, FFIType } from "bun:ffi";

export const TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY";

const cstr = (s: string) => Buffer.from(`${s}\0`);

let done = false;

/** Sets `ORT_DISABLE_TELEMETRY=1` in the process's C environment unless it is set; true when it is set afterwards. */
export function disableOrtTelemetry(): boolean {
  if (done) return true;
  if (process.platform !== "linux" && process.platform !== "darwin") return false;
  try {
    const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
      getenv: { args: [FFIType.cstring], returns: FFIType.cstring },
      setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
    });
    try {
      const current = libc.symbols.getenv(cstr(TELEMETRY_ENV));
      const ok = current != null && String(current) !== "" ? true : libc.symbols.setenv(cstr(TELEMETRY_ENV), cstr("1"), 0) === 0;
      done = ok;
      return ok;
    } finally {
      libc.close();
    }
  } catch {
    return false;
  }
}
