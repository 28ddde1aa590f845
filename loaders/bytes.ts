/**
 * Local byte sources: files (positional reads on one descriptor), in-memory buffers, and sub-ranges of
 * another source (a stored zip entry is a sub-range of its archive). `readSequential` turns any
 * source into a chunk stream, using the source's own `stream` when it has one.
 */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { SourceError } from "../src/errors.js";
import type { ByteSource } from "./types.js";

/** Ranges above this are read in {@link PARALLEL_READS} parts at once (libuv has 4 threads by default). */
const PARALLEL_READ_MIN = 8 << 20;
const PARALLEL_READS = 4;

/** Chunk size for sequential reads over `slice`: 1 MiB keeps syscalls / requests few and memory flat. */
export const SEQUENTIAL_CHUNK = 1 << 20;

/** Opens a local file as a {@link ByteSource}. Throws {@link SourceError} naming the path when it cannot. */
export async function fileSource(path: string): Promise<ByteSource> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new SourceError("not a regular file", { file: path });
    size = st.size;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`cannot open: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  const getHandle = async () => (handle ??= await open(path, "r"));
  return {
    name: path,
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const len = Math.max(0, Math.min(end, size) - start);
      const buf = new Uint8Array(len);
      const fh = await getHandle();
      // a large range is read as parallel parts: the first touch of fresh memory (a page fault per
      // 4 KiB, slow on VMs) then runs on several libuv threads instead of one
      const part = len > PARALLEL_READ_MIN ? Math.ceil(len / PARALLEL_READS / 65536) * 65536 : len;
      const readPart = async (from: number, to: number): Promise<void> => {
        for (let done = from; done < to; ) {
          const { bytesRead } = await fh.read(buf, done, to - done, start + done);
          if (bytesRead === 0) throw new SourceError("file shrank while reading", { file: path, offset: start + done });
          done += bytesRead;
        }
      };
      const parts: Promise<void>[] = [];
      for (let p = 0; p < len; p += part) parts.push(readPart(p, Math.min(len, p + part)));
      await Promise.all(parts);
      return buf.buffer;
    },
    async *stream(start = 0, end = size): AsyncIterable<Uint8Array> {
      if (end <= start) return;
      const rs = createReadStream(path, { start, end: end - 1, highWaterMark: SEQUENTIAL_CHUNK });
      for await (const chunk of rs) yield chunk as Buffer;
    },
    async close(): Promise<void> {
      const h = handle;
      handle = undefined;
      await h?.close();
    },
  };
}

/** Wraps bytes already in memory (an inflated zip entry, a test fixture). */
export function bufferSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    byteLength: bytes.byteLength,
    async slice(start: number, end = bytes.byteLength): Promise<ArrayBuffer> {
      // Uint8Array.prototype.slice copies; Buffer#slice would return a view of a shared pool
      return Uint8Array.prototype.slice.call(bytes, start, end).buffer;
    },
    async *stream(start = 0, end = bytes.byteLength): AsyncIterable<Uint8Array> {
      for (let p = start; p < end; p += SEQUENTIAL_CHUNK) yield bytes.subarray(p, Math.min(end, p + SEQUENTIAL_CHUNK));
    },
  };
}

/** A view of `[offset, offset + length)` of `base` under another name (a stored zip entry). */
export function subSource(name: string, base: ByteSource, offset: number, length: number): ByteSource {
  const stream = base.stream?.bind(base);
  return {
    name,
    byteLength: length,
    slice: (start: number, end = length) => base.slice(offset + start, offset + Math.min(end, length)),
    stream: stream ? (start = 0, end = length) => stream(offset + start, offset + Math.min(end, length)) : undefined,
    close: () => base.close?.() ?? Promise.resolve(),
  };
}

/** Chunks of `[start, end)` of `src`, via `src.stream` when present, else 1 MiB `slice` calls. */
export async function* readSequential(src: ByteSource, start = 0, end = src.byteLength): AsyncIterable<Uint8Array> {
  if (src.stream) {
    yield* src.stream(start, end);
    return;
  }
  for (let p = start; p < end; p += SEQUENTIAL_CHUNK) {
    yield new Uint8Array(await src.slice(p, Math.min(end, p + SEQUENTIAL_CHUNK)));
  }
}
