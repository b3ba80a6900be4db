/** The model store: catalog, verified resumable download, lock files, `ensureModel`. */
export { type Catalog, type CatalogFile, builtinCatalog, fileUrl, FP32_FILES, HF_REPO, HF_REVISION, INT8_FILES, loadManifest, parseManifest } from "./catalog.ts";
export { type EnsureOptions, ensureModel, type SyncReport, syncModel } from "./ensure.ts";
export { DEFAULT_NET, type NetOptions, sha256File } from "./download.ts";
export { parseBoolEnv, resolveOffline, resolvePrecision } from "./env.ts";
export { LOCK_FILE, type ModelLock, readLock } from "./lockfile.ts";
export { verifyModel, type VerifyResult } from "./verify.ts";
