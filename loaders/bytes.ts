/**
 * Local byte sources: files (positional reads on one descriptor), in-memory buffers, and sub-ranges of
 * another source (a stored zip entry is a sub-range of its archive). `readSequential` turns any
 * source into a chunk stream, using the source's own `stream` when it has one.
 */
import { createReadStream } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { SourceError } from "../src/errors.js";
import type { ByteSource, StreamOptions } from "./types.js";

/** Ranges above this are read in {@link PARALLEL_READS} parts at once (libuv has 4 threads by default). */
const PARALLEL_READ_MIN = 8 << 20;
const PARALLEL_READS = 4;

/** Chunk size for sequential reads over `slice`: 1 MiB keeps syscalls / requests few and memory flat. */
export const SEQUENTIAL_CHUNK = 1 << 20;

/**
 * Chunk buffers of reusing streams, kept for the next stream on this thread: a fresh buffer per
 * chunk (what a read stream allocates) costs a page fault per 4 KiB on first touch, which made
 * reading a 163 MB JSONL file 4–8× slower than reading it into reused memory on this VM.
 */
const spareChunks: Buffer[] = [];
const SPARE_CHUNKS_MAX = 4;

function takeChunk(): Buffer {
  return spareChunks.pop() ?? Buffer.allocUnsafeSlow(SEQUENTIAL_CHUNK);
}

function giveChunk(b: Buffer): void {
  if (spareChunks.length < SPARE_CHUNKS_MAX) spareChunks.push(b);
}

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
  // the open itself is shared: reads that start at once (a read-ahead beside the reader's own) would
  // each open a handle, and all but the last one kept would never be closed
  let handle: ReturnType<typeof open> | undefined;
  const getHandle = () => (handle ??= open(path, "r"));
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
    async *stream(start = 0, end = size, options?: StreamOptions): AsyncIterable<Uint8Array> {
      if (end <= start) return;
      if (options?.reuseChunks) {
        yield* reusingStream(await getHandle(), path, start, Math.min(end, size));
        return;
      }
      const rs = createReadStream(path, { start, end: end - 1, highWaterMark: SEQUENTIAL_CHUNK });
      for await (const chunk of rs) yield chunk as Buffer;
    },
    async close(): Promise<void> {
      const h = handle;
      handle = undefined;
      if (h === undefined) return;
      let fh: Awaited<typeof h>;
      try {
        fh = await h;
      } catch {
        return; // the open failed: nothing to close (the read that needed it has reported it)
      }
      await fh.close();
    },
  };
}

/**
 * `[start, end)` of an open file in two alternating buffers: the next chunk is read while the
 * consumer works on this one, into the buffer the consumer handed back by asking for more.
 */
async function* reusingStream(fh: FileHandle, path: string, start: number, end: number): AsyncIterable<Uint8Array> {
  const bufs = [takeChunk(), takeChunk()] as const;
  const readAt = (b: Buffer, at: number) => fh.read(b, 0, Math.min(b.length, end - at), at);
  let at = start;
  let k = 0;
  let pending: ReturnType<typeof readAt> | undefined = readAt(bufs[0], at);
  try {
    while (pending !== undefined) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) throw new SourceError("file shrank while reading", { file: path, offset: at });
      const chunk = bufs[k]!.subarray(0, bytesRead);
      at += bytesRead;
      k ^= 1;
      if (at < end) pending = readAt(bufs[k]!, at);
      yield chunk;
    }
  } finally {
    // a consumer that stops early leaves a read in flight into one of the buffers
    await pending?.catch(() => undefined);
    giveChunk(bufs[0]);
    giveChunk(bufs[1]);
  }
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
    stream: stream ? (start = 0, end = length, options?: StreamOptions) => stream(offset + start, offset + Math.min(end, length), options) : undefined,
    close: () => base.close?.() ?? Promise.resolve(),
  };
}

/**
 * Chunks of `[start, end)` of `src`, via `src.stream` when present, else 1 MiB `slice` calls. With
 * `reuseChunks`, a chunk may be overwritten once the next one is asked for (see {@link StreamOptions}).
 */
export async function* readSequential(src: ByteSource, start = 0, end = src.byteLength, options?: StreamOptions): AsyncIterable<Uint8Array> {
  if (src.stream) {
    yield* src.stream(start, end, options);
    return;
  }
  for (let p = start; p < end; p += SEQUENTIAL_CHUNK) {
    yield new Uint8Array(await src.slice(p, Math.min(end, p + SEQUENTIAL_CHUNK)));
  }
}
