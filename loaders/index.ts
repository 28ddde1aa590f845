/**
 * tokpack loaders: any mix of jsonl / json / parquet files — local, in zip archives, or over HTTP(S) —
 * as one deterministic, resumable, shardable stream of {@link Document}s.
 *
 * Data path (each step one module): resolve (sources → files) → plan (files → pieces) → shard
 * (pieces → this slot, per epoch) → readers (piece → records, via lines / jsonarray / parquet over a
 * byte source: bytes, http, zip; codec for gz/zst) → document (record → Document) → loader (shuffle
 * buffer, state) → mix (weighted interleave).
 */
export type { ByteSource, Document, DocumentSpec, LoaderStats, Message, RawRecord, SourceRef } from "./types.js";
export { createLoader, Loader } from "./loader.js";
export type { LoaderOptions, LoaderState } from "./loader.js";
export { mixLoaders, MixedLoader } from "./mix.js";
export type { MixOptions, MixSource, MixState } from "./mix.js";
export { documentMaker, getField, parseTemplate } from "./document.js";
export type { DocumentMaker } from "./document.js";
export { resolveSources, formatFromName, globToRegExp } from "./resolve.js";
export type { Format, InputFile, ResolveOptions } from "./resolve.js";
export type { ShardSpec } from "./shard.js";
export { fileSource, bufferSource, subSource, readSequential } from "./bytes.js";
export { httpSource } from "./http.js";
export type { HttpOptions } from "./http.js";
export { openZip } from "./zip.js";
export type { ZipArchive, ZipEntryInfo } from "./zip.js";
export { Rng } from "./random.js";
