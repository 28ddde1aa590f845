/**
 * Snappy pages decompressed by hysnappy's WebAssembly decoder (the one hyparquet-compressors uses),
 * without the fresh copy of every page that its API returns.
 *
 * hysnappy's `snappyUncompress` returns each page as a new `slice` of its WebAssembly memory. For
 * multi-megabyte pages that new buffer dominated: on this VM first-touching fresh memory runs at
 * ~250 MB/s (a page fault per 4 KiB), so the copy out cost more than the decompression. Measured on
 * 16 and 76 MB text pages: hysnappy's call ~190 MB/s; the same WebAssembly code called here with the
 * output copied into a reused buffer ~740–770 MB/s.
 *
 * This module instantiates the WebAssembly module that the hysnappy package ships (base64 inside its
 * `js/uncompress.js`) and calls its exported `uncompress` itself. {@link SnappyPages} goes one step
 * further and leaves the pages in the instance's own memory, one instance per parquet source (handed
 * on to the next source when one closes; see `releasePageMemory`), so a row group's pages land in
 * memory that earlier row groups already touched and are never copied.
 * The module is rewritten to import its memory as a shared WebAssembly memory (`wasm.ts`,
 * `withSharedMemory`): a SharedArrayBuffer, so the new memory a large row group needs can be
 * prefaulted on a helper thread while the decoder fills it (`prefault.ts`; duckdb-default row groups
 * of text: 2.42–2.59 → 2.17–2.29 s for 200k rows). Where that is not possible it keeps its own memory.
 * When the module cannot be found in the installed hysnappy (another layout), {@link snappyPages}
 * returns undefined and callers use hysnappy's API.
 */
import { prefaultRange } from "./prefault.js";
import { compileWasm, instantiateWith, packagedWasmBytes, sharedWasmMemory, withSharedMemory, type WasmMemory } from "./wasm.js";

/** The exports of hysnappy's decoder module (`uncompress` returns 0 or a negative error code). */
interface SnappyExports {
  memory: WasmMemory;
  uncompress(inputStart: number, inputLength: number, outputStart: number): number;
}

/** Where hysnappy's own wrapper puts its input: below it are the decoder's stack and data. */
const HEAP_START = 68000;

const WASM_PAGE = 65536;

/** 32-bit WebAssembly memory tops out at 4 GiB; stay below it. */
const MAX_MEMORY = 2 ** 32 - 16 * WASM_PAGE;

/** hysnappy's error codes. */
const ERRORS: Record<number, string> = { [-1]: "invalid snappy length header", [-2]: "missing eof marker", [-3]: "premature end of input" };

/**
 * hysnappy's module bytes, rewritten to import a shared memory (null: not possible), and as shipped
 * (compiled only when the shared one cannot be used).
 */
let compiled: { bytes: Uint8Array | null; shared: { module: object; pages: number } | null; own?: object | null } | undefined;

function compile(): NonNullable<typeof compiled> {
  const bytes = packagedWasmBytes("hysnappy/js/uncompress.js", /const wasm64 = '([A-Za-z0-9+/=]+)'/);
  const rewritten = bytes === null ? null : withSharedMemory(bytes);
  const module = rewritten === null ? null : compileWasm(rewritten.bytes);
  return { bytes, shared: module === null ? null : { module, pages: rewritten!.pages } };
}

/**
 * hysnappy's decoder, a new instance (compiled once per thread); undefined when it cannot be found.
 * Its memory is a shared one where the module can be rewritten to import it, so that the new memory a
 * large row group needs is prefaulted on a helper thread (see `reset`); its own memory otherwise.
 */
function instantiate(): SnappyExports | undefined {
  const c = (compiled ??= compile());
  if (c.shared !== null) {
    try {
      const w = instantiateWith<SnappyExports>(c.shared.module, ["uncompress"], { env: { memory: sharedWasmMemory(c.shared.pages) } });
      if (w !== undefined) return w;
    } catch {
      c.shared = null; // shared memory not available here: use the module's own
    }
  }
  if (c.own === undefined) c.own = c.bytes === null ? null : compileWasm(c.bytes);
  return c.own === null ? undefined : instantiateWith<SnappyExports>(c.own, ["uncompress"]);
}

/** The uncompressed length a snappy stream declares (its leading varint), or -1 when malformed. */
export function snappyLength(input: Uint8Array): number {
  let n = 0;
  for (let i = 0, shift = 1; i < 5 && i < input.length; i++, shift *= 128) {
    const b = input[i]!;
    n += (b & 0x7f) * shift;
    if (b < 0x80) return n;
  }
  return -1;
}

/**
 * Checks that the snappy stream `input` declares `expected` bytes of output (its leading varint);
 * returns the varint's length, where the stream's elements start.
 */
export function snappyHeader(input: Uint8Array, expected: number): number {
  const declared = snappyLength(input);
  if (declared !== expected) throw new Error(declared < 0 ? "invalid snappy length header" : `snappy page declares ${declared} bytes, expected ${expected}: corrupt data`);
  let n = 1;
  while (input[n - 1]! >= 0x80) n++;
  return n;
}

/**
 * Decompressed snappy pages kept in one decoder instance's memory: a bump allocator that
 * {@link SnappyPages.reset} empties. Views it returns stay valid until the next `reset` — the same
 * contract as `PageArena`, so one instance serves one parquet source.
 */
export class SnappyPages {
  private used = HEAP_START;

  constructor(private readonly wasm: SnappyExports) {}

  /**
   * Forget every page handed out, and make room for `bytes` of pages and input at once: growing the
   * memory later would detach the views already handed out (an unshared memory), so a page that does
   * not fit after this is decompressed into fresh memory instead. With a shared memory, the first
   * `surely` bytes of new memory (default: all) are prefaulted on the helper thread: callers pass the
   * pages' total, which will be written, and not the room kept for input, which may stay unused.
   */
  reset(bytes: number, surely = bytes): void {
    this.used = HEAP_START;
    const need = Math.min(MAX_MEMORY, HEAP_START + bytes);
    const have = this.wasm.memory.buffer.byteLength;
    if (have < need) {
      this.wasm.memory.grow(Math.ceil((need - have) / WASM_PAGE));
      const buffer: unknown = this.wasm.memory.buffer;
      if (buffer instanceof SharedArrayBuffer) prefaultRange(buffer, have, Math.min(buffer.byteLength, HEAP_START + surely));
    }
  }

  /** `input` decompressed; its declared length must be `outputLength`. */
  decompress(input: Uint8Array, outputLength: number): Uint8Array {
    // the decoder writes as many bytes as the stream declares: check that first, so a corrupt page
    // is an error here and never a write past the output region
    snappyHeader(input, outputLength);
    const out = this.used;
    const inAt = out + outputLength;
    const end = inAt + input.byteLength;
    const memory = this.wasm.memory.buffer;
    const fits = end <= memory.byteLength;
    // a page that does not fit is decoded at the heap start and copied out (the views handed out
    // below `used` would be overwritten, so only when nothing is handed out yet, else fresh memory)
    if (!fits && this.used !== HEAP_START) return snappyDecompressFresh(input, outputLength);
    if (!fits) this.reset(outputLength + input.byteLength);
    const mem = new Uint8Array(this.wasm.memory.buffer);
    mem.set(input, inAt);
    const rc = this.wasm.uncompress(inAt, input.byteLength, out);
    if (rc !== 0) throw new Error(ERRORS[rc] ?? `snappy decoder failed (code ${rc})`);
    this.used = inAt;
    return mem.subarray(out, inAt);
  }
}

/** A new page store with its own decoder instance, or undefined when hysnappy's module is not found. */
export function snappyPages(): SnappyPages | undefined {
  const w = instantiate();
  return w === undefined ? undefined : new SnappyPages(w);
}

/**
 * `input` decompressed into fresh memory of its own (`outputLength` bytes, as its header declares),
 * by a second decoder instance: for a page decoded outside any page store, or one that does not fit
 * a store whose earlier pages are still in use.
 */
export function snappyDecompressFresh(input: Uint8Array, outputLength: number): Uint8Array {
  const store = snappyPages();
  if (store === undefined) throw new Error("snappy decoder unavailable: hysnappy's WebAssembly module was not found");
  store.reset(outputLength + input.byteLength);
  return store.decompress(input, outputLength).slice();
}
