/**
 * `releaseFreedMemory()`: hands memory that the C heap has freed back to the OS (glibc
 * `malloc_trim(0)`), where the allocator would otherwise keep it. Loading a model parses the
 * whole file and copies its weights; the transient buffers are freed but stay resident in
 * glibc's per-thread arenas. Called once after a Worker loads its model. A no-op (false) where
 * there is no glibc `malloc_trim` (macOS, musl) or FFI is unavailable.
 */
export function releaseFreedMemory(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== "linux") return false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 } });
    try {
      libc.symbols.malloc_trim(0);
    } finally {
      libc.close();
    }
    return true;
  } catch {
    return false;
  }
}
