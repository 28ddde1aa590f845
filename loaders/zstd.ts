/**
 * zstd through `zstddec` (the reference C decoder compiled to WebAssembly, shipped inside the npm
 * package): about 4× faster than the pure-JS `fzstd` on parquet pages and `.jsonl.zst` here. Node 20
 * has no zstd in `node:zlib`; where it has (≥ 22.15), `codec.ts` prefers it for whole-file streams.
 *
 * zstddec's streaming decoder pulls its input from a synchronous iterable and does not check the C
 * return codes, so this module (a) keeps one compressed chunk queued before every step, so the
 * decoder never finds its input empty mid-stream, and (b) treats a long run of steps that produce
 * nothing as corrupt data (the C decoder stops advancing after an error).
 */
import { ZSTDDecoder } from "zstddec/stream";

let decoder: Promise<ZSTDDecoder> | undefined;
let ready: ZSTDDecoder | undefined;

/** The thread's decoder, instantiated once. */
export function zstdDecoder(): Promise<ZSTDDecoder> {
  if (decoder === undefined) {
    const d = new ZSTDDecoder();
    decoder = d.init().then(() => (ready = d));
    decoder.catch(() => (decoder = undefined));
  }
  return decoder;
}

/** Steps in a row that may produce no output before the data is declared corrupt. */
const MAX_EMPTY_STEPS = 64;

/** Thrown from {@link zstdStream}; `fed` = compressed bytes handed to the decoder so far. */
export class ZstdStreamError extends Error {
  constructor(
    message: string,
    readonly fed: number,
  ) {
    super(message);
  }
}

/** Decompressed chunks (≤ 128 KiB each) of a zstd stream of one or more frames. */
export async function* zstdStream(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const dec = await zstdDecoder();
  const it = input[Symbol.asyncIterator]();
  const queue: Uint8Array[] = [];
  let ended = false;
  let fed = 0;
  const fill = async (): Promise<void> => {
    while (queue.length === 0 && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else if (r.value.byteLength > 0) queue.push(r.value);
    }
  };
  // The decoder asks for the next chunk only after it has used up the previous one, and each step
  // asks at most once, so one queued chunk before each step is enough.
  const feed: Iterable<Uint8Array> = {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<Uint8Array> => {
        const c = queue.shift();
        if (c === undefined) return { value: undefined, done: true };
        fed += c.byteLength;
        return { value: c, done: false };
      },
    }),
  };
  await fill();
  if (queue.length === 0) throw new ZstdStreamError("empty file", 0);
  const steps = dec.decodeStreaming(feed);
  let empty = 0;
  try {
    for (;;) {
      await fill(); // input errors (a failed read) pass through unchanged
      let r: IteratorResult<Uint8Array>;
      try {
        r = steps.next();
      } catch (err) {
        throw new ZstdStreamError(err instanceof Error ? err.message : String(err), fed);
      }
      if (r.done === true) return;
      if (r.value.byteLength === 0) {
        if (++empty > MAX_EMPTY_STEPS) throw new ZstdStreamError("the decoder stopped making progress", fed);
        continue;
      }
      empty = 0;
      yield r.value;
    }
  } finally {
    steps.return(undefined);
    await it.return?.();
  }
}

/**
 * One zstd frame into `out` (exactly its size), decoded in ≤ 128 KiB steps so no page-sized
 * temporary is allocated; throws on corrupt data or a size mismatch.
 */
export function zstdDecompressInto(input: Uint8Array, out: Uint8Array): Uint8Array {
  if (ready === undefined) throw new Error("zstd decoder not initialised (await zstdDecoder() first)");
  let at = 0;
  let empty = 0;
  for (const part of ready.decodeStreaming([input])) {
    if (part.byteLength === 0) {
      if (++empty > MAX_EMPTY_STEPS) throw new Error("zstd decoder stopped making progress: corrupt data");
      continue;
    }
    empty = 0;
    if (at + part.byteLength > out.byteLength) throw new Error(`zstd page decompresses to more than the ${out.byteLength} bytes expected: corrupt data`);
    out.set(part, at);
    at += part.byteLength;
  }
  if (at !== out.byteLength) throw new Error(`zstd page decompressed to ${at} bytes, expected ${out.byteLength}: corrupt data`);
  return out;
}
