/**
 * Stream decompression for whole-file codecs (`.gz`, `.zst`). Node 20 has no zstd in `node:zlib`
 * (it arrived in 22.15 / 23.8), so zstd falls back to `zstddec`'s WebAssembly decoder (`zstd.ts`) when
 * `zlib.createZstdDecompress` is missing. A stream that ends early or is corrupt raises a
 * {@link SourceError} naming the file and the compressed byte offset reached.
 */
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { SourceError, TokpackError } from "../src/errors.js";
import { zstdStream, ZstdStreamError } from "./zstd.js";

const OUT_CHUNK = 256 * 1024;

/** Whole-file compression of a text source. */
export type Codec = "none" | "gzip" | "zstd";

/** Codec from a file name: `.gz` → gzip, `.zst`/`.zstd` → zstd, else none. */
export function codecFromName(name: string): Codec {
  const n = name.toLowerCase();
  if (n.endsWith(".gz") || n.endsWith(".gzip")) return "gzip";
  if (n.endsWith(".zst") || n.endsWith(".zstd")) return "zstd";
  return "none";
}

/** Name without its codec suffix (`a.jsonl.gz` → `a.jsonl`), for format detection. */
export function stripCodecSuffix(name: string): string {
  return name.replace(/\.(gz|gzip|zst|zstd)$/i, "");
}

/** Decompressed chunks of `input`. `name` is used in errors. */
export function decompress(input: AsyncIterable<Uint8Array>, codec: Codec, name: string): AsyncIterable<Uint8Array> {
  if (codec === "none") return input;
  const nodeZstd = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
  // 256 KiB output chunks instead of zlib's 16 KiB: fewer lines straddle chunks, fewer async steps
  if (codec === "gzip") return viaNodeStream(input, zlib.createGunzip({ chunkSize: OUT_CHUNK }), "gzip", name);
  if (nodeZstd) return viaNodeStream(input, nodeZstd(), "zstd", name);
  return viaZstddec(input, name);
}

function corrupt(kind: string, name: string, offset: number, err: unknown): SourceError {
  const why = err instanceof Error ? err.message : String(err);
  return new SourceError(`${kind} stream is truncated or corrupt (${why}); re-download or re-compress the file`, { file: name, offset }, { cause: err });
}

async function* viaNodeStream(
  input: AsyncIterable<Uint8Array>,
  transform: NodeJS.ReadWriteStream,
  kind: string,
  name: string,
): AsyncIterable<Uint8Array> {
  const counter = { fed: 0 };
  const src = Readable.from(counted(input, counter), { objectMode: false });
  const t = transform as unknown as Readable & NodeJS.WritableStream;
  src.on("error", (e) => t.destroy(e));
  src.pipe(t);
  try {
    for await (const out of t) yield out as Buffer;
  } catch (err) {
    if (err instanceof TokpackError) throw err;
    throw corrupt(kind, name, counter.fed, err);
  } finally {
    src.destroy();
    t.destroy();
  }
}

async function* counted(input: AsyncIterable<Uint8Array>, counter: { fed: number }): AsyncIterable<Uint8Array> {
  for await (const c of input) {
    counter.fed += c.byteLength;
    yield c;
  }
}

async function* viaZstddec(input: AsyncIterable<Uint8Array>, name: string): AsyncIterable<Uint8Array> {
  try {
    yield* zstdStream(input);
  } catch (err) {
    if (err instanceof TokpackError) throw err;
    throw corrupt("zstd", name, err instanceof ZstdStreamError ? err.fed : 0, err);
  }
}
