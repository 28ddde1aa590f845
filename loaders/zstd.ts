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
import type { ZSTDDecoder } from "zstddec/stream";
import { HUNGRY, inputComplete, wholeInput, wholePage, type PageInput, type PageSteps } from "./page-steps.js";
import { instantiateWith, packagedWasmModule } from "./wasm.js";

let decoder: Promise<ZSTDDecoder> | undefined;
let ready: ZSTDDecoder | undefined;

/** The thread's decoder, instantiated once. */
export function zstdDecoder(): Promise<ZSTDDecoder> {
  if (decoder === undefined) {
    // imported on first use: a run without zstd data never loads it (worker start-up)
    decoder = import("zstddec/stream").then(async ({ ZSTDDecoder: Decoder }) => {
      const d = new Decoder();
      await d.init();
      return (ready = d);
    });
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

/** The exports of zstddec's module used for pages (`ZSTD_decompress` is zstd's one-shot call). */
interface OneShotExports {
  memory: { readonly buffer: ArrayBuffer };
  malloc(bytes: number): number;
  free(ptr: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
}

/**
 * A second instance of the WebAssembly module zstddec ships (base64 in its stream build), for whole
 * parquet pages: one `ZSTD_decompress` call into a scratch region of its memory, then one copy into
 * the caller's buffer. zstddec's API offers either that call with a fresh page-sized copy out (a page
 * fault per 4 KiB of new memory, slow on this VM) or the streaming decoder in 128 KiB steps, each a
 * fresh copy (~15% of a zstd parquet read went to those steps and their garbage). Undefined when the
 * module cannot be found in the installed zstddec.
 */
let oneShotCache: OneShotExports | null | undefined;

/** The one-shot instance, made on first use; undefined when zstddec's module cannot be found. */
function oneShot(): OneShotExports | undefined {
  if (oneShotCache === undefined) oneShotCache = instantiateOneShot() ?? null;
  return oneShotCache ?? undefined;
}

function instantiateOneShot(): OneShotExports | undefined {
  const module = packagedWasmModule("zstddec/stream", /const wasm = "([A-Za-z0-9+/=]+)"/);
  const functions = ["ZSTD_decompress", "ZSTD_createDCtx", "ZSTD_freeDCtx", "ZSTD_decompressStream", "malloc", "free"];
  return module === null ? undefined : instantiateWith<OneShotExports>(module, functions, { env: { emscripten_notify_memory_growth: () => undefined } });
}

/**
 * Largest page decoded in one shot. A larger one goes in 128 KiB output steps with its input fed
 * through a 1 MiB window, so the instance's memory stays ~2 MiB whatever the page size; one shot
 * needs the whole page and its input in that memory, on top of the caller's buffer. Up to 32 MiB in
 * one shot (as before) took ~20 MB more peak RSS per reading thread on 10k-row groups of text (zstd
 * 10k: 163–185 → 140–167 MB; 2 pipeline workers on zstd parquet: 350–385 → 309–359 MB) at the same
 * speed, interleaved A/B runs.
 */
const ONE_SHOT_MAX = 1 << 20;

/** Scratch memory of the one-shot path in its instance (the stepped path mallocs its own region per page). */
let scratch = { ptr: 0, bytes: 0 };

/** The scratch region, grown (never shrunk) to at least `need` bytes; returns its address. */
function scratchOf(wasm: OneShotExports, need: number): number {
  if (scratch.bytes < need) {
    if (scratch.ptr !== 0) wasm.free(scratch.ptr);
    const bytes = Math.max(need, 1 << 20);
    const ptr = wasm.malloc(bytes);
    scratch = ptr === 0 ? { ptr: 0, bytes: 0 } : { ptr, bytes };
    if (ptr === 0) throw new Error(`zstd decoder: cannot allocate ${bytes} bytes`);
  }
  return scratch.ptr;
}

function decompressOneShot(wasm: OneShotExports, input: Uint8Array, out: Uint8Array): Uint8Array {
  const dst = scratchOf(wasm, out.byteLength + input.byteLength);
  const src = dst + out.byteLength;
  new Uint8Array(wasm.memory.buffer).set(input, src);
  const n = wasm.ZSTD_decompress(dst, out.byteLength, src, input.byteLength);
  // zstd's error codes come back as small negative numbers; a short page is corrupt too
  if (n !== out.byteLength) throw new Error(n < 0 ? `zstd page is corrupt (zstd error ${-n})` : `zstd page decompressed to ${n} bytes, expected ${out.byteLength}: corrupt data`);
  out.set(new Uint8Array(wasm.memory.buffer, dst, n)); // the memory may have grown: a fresh view
  return out;
}

/**
 * One zstd page (one or more frames) into `out` (exactly its size); throws on corrupt data or a size
 * mismatch. Uses the one-shot instance for pages up to 1 MiB, larger ones in 128 KiB steps on it
 * (so no page-sized temporary is allocated); zstddec's streaming API only when that instance could
 * not be made.
 */
export function zstdDecompressInto(input: Uint8Array, out: Uint8Array): Uint8Array {
  const wasm = oneShot();
  if (wasm === undefined) return zstdDecompressStreaming(input, out);
  return out.byteLength <= ONE_SHOT_MAX ? decompressOneShot(wasm, input, out) : decompressStepped(wasm, input, out);
}

/** Output step of {@link decompressStepped}. */
const STEP = 128 << 10;

/**
 * Compressed input the stepped path holds in the instance's memory at a time. Copying a whole 40–50
 * MB compressed page in first (as before) grew that memory by the page's size, and each new 4 KiB of
 * it costs a page fault on first touch.
 */
const INPUT_WINDOW = 1 << 20;

/**
 * A page too large for one shot, decoded with zstd's streaming call in 128 KiB output steps on the
 * same instance, its input fed through a 1 MiB window: only that window and one step live in the
 * instance's memory, and each step is copied straight into `out` (zstddec's streaming API makes a
 * fresh copy of every step instead).
 */
function decompressStepped(wasm: OneShotExports, input: Uint8Array, out: Uint8Array, window = INPUT_WINDOW): Uint8Array {
  const steps = new ZstdSteps(wasm, wholeInput(input), 0, out.byteLength, window);
  try {
    let at = 0;
    for (let step = steps.next(); step !== undefined; step = steps.next()) {
      out.set(step, at);
      at += step.byteLength;
    }
    return out;
  } finally {
    steps.close();
  }
}

/**
 * One zstd page decoded a step at a time (see {@link decompressStepped}): each `next()` is a view of
 * up to 128 KiB of output inside the WebAssembly instance's memory, valid until the following call.
 * Throws on corrupt data, on output past `expected` bytes, or when the input ends short of it. Its
 * input may arrive a window at a time: `next()` answers HUNGRY when it needs bytes not loaded yet. Each
 * has its own decoding context and region of the instance's memory, so pages of several readers on
 * one thread can be mid-way at once; the caller frees them with `close()` (done here on an error).
 */
class ZstdSteps {
  private readonly win: number;
  private dctx: number;
  private region: number;
  private readonly step: number;
  private readonly outBuf: number;
  private readonly inBuf: number;
  private readonly src: number;
  /** Page offset of the next input byte to copy into the window. */
  private loaded: number;
  /** The window is used up and the bytes after it are not loaded yet. */
  private needInput = false;
  /** Output bytes produced so far. */
  private at = 0;
  /** Bytes of the latest step (0 before the first). */
  private last = 0;
  private stalled = 0;
  private lastPos = 0;
  private done = false;

  constructor(
    private readonly wasm: OneShotExports,
    private readonly input: PageInput,
    from: number,
    private readonly expected: number,
    window = INPUT_WINDOW,
  ) {
    this.loaded = from;
    this.win = Math.max(1, Math.min(window, input.size - from));
    this.dctx = wasm.ZSTD_createDCtx();
    this.region = this.dctx === 0 ? 0 : wasm.malloc(STEP + 32 + this.win);
    if (this.region === 0) {
      this.close();
      throw new Error("zstd decoder: cannot allocate a decoding context");
    }
    // layout: [output step][ZSTD_outBuffer: dst, size, pos][ZSTD_inBuffer: src, size, pos][pad][input window]
    this.step = this.region;
    this.outBuf = this.step + STEP;
    this.inBuf = this.outBuf + 12;
    this.src = this.inBuf + 12 + 8;
    this.words().set([this.step, STEP, 0]);
    this.refill();
  }

  /** The buffer descriptors (fresh: the memory may grow). */
  private words(): Uint32Array {
    return new Uint32Array(this.wasm.memory.buffer, this.outBuf, 6);
  }

  /** The next part of the loaded input into the window, as the decoder's new input buffer. */
  private refill(): void {
    const { buf, start } = this.input;
    const n = Math.min(this.win, start + buf.byteLength - this.loaded);
    new Uint8Array(this.wasm.memory.buffer).set(buf.subarray(this.loaded - start, this.loaded - start + n), this.src);
    this.loaded += n;
    this.words().set([this.src, n, 0], 3);
  }

  /** Whether input past the window is loaded. */
  private moreLoaded(): boolean {
    return this.loaded < this.input.start + this.input.buf.byteLength;
  }

  private fail(message: string): never {
    this.close();
    throw new Error(message);
  }

  /** Frees the context and memory region (idempotent); `next()` then returns undefined. */
  close(): void {
    this.done = true;
    if (this.dctx !== 0) this.wasm.ZSTD_freeDCtx(this.dctx);
    if (this.region !== 0) this.wasm.free(this.region);
    this.dctx = this.region = 0;
  }

  /** The next non-empty output step, or undefined once the page is complete. */
  next(): Uint8Array | undefined {
    while (!this.done) {
      if (this.needInput) {
        if (!this.moreLoaded()) {
          this.input.consumed = this.loaded;
          return HUNGRY;
        }
        this.refill();
        this.needInput = false;
        this.stalled = 0;
      }
      const wasm = this.wasm;
      this.words()[2] = 0; // output position
      const rc = wasm.ZSTD_decompressStream(this.dctx, this.outBuf, this.inBuf);
      const w = this.words();
      const produced = w[2]!;
      if (rc < 0) this.fail(`zstd page is corrupt (zstd error ${-rc})`);
      if (this.at + produced > this.expected) this.fail(`zstd page decompresses to more than the ${this.expected} bytes expected: corrupt data`);
      this.at += produced;
      let pos = w[5]!;
      const windowUsed = pos >= w[4]!;
      if (windowUsed && this.loaded < this.input.size) {
        if (this.moreLoaded()) {
          this.refill();
          pos = 0;
          this.stalled = 0;
        } else this.needInput = true; // the next call loads more or answers HUNGRY
      } else {
        const consumed = windowUsed; // and nothing left to load
        if (rc === 0 && consumed) this.done = true; // last frame complete, input used up
        else {
          this.stalled = produced === 0 && pos === this.lastPos ? this.stalled + 1 : 0;
          if ((produced === 0 && consumed) || this.stalled > MAX_EMPTY_STEPS) this.fail("zstd page ends mid-frame: corrupt data");
        }
      }
      this.lastPos = pos;
      if (this.done && this.at !== this.expected) this.fail(`zstd page decompressed to ${this.at} bytes, expected ${this.expected}: corrupt data`);
      if (produced > 0) {
        this.last = produced;
        return new Uint8Array(wasm.memory.buffer, this.step, produced);
      }
    }
    return undefined;
  }

  current(): Uint8Array | undefined {
    return this.last > 0 && this.region !== 0 ? new Uint8Array(this.wasm.memory.buffer, this.step, this.last) : undefined;
  }
}

/**
 * The output of one zstd page body (`expected` bytes from page offset `from` of `input`) as
 * successive views of at most 128 KiB, each valid until the next call: a reader can parse a page of
 * any size while holding one step of it and a window of its input. Uses the stepped path on the
 * one-shot instance; where that instance cannot be made ({@link zstdOneShot} is false), the whole
 * page is decoded first and handed out as one view, so `input` must then hold the whole page.
 */
export function zstdPageSteps(input: PageInput, from: number, expected: number): PageSteps {
  const wasm = oneShot();
  if (wasm !== undefined) return new ZstdSteps(wasm, input, from, expected);
  if (input.start !== 0 || !inputComplete(input)) throw new Error("zstd page steps without zstddec's module need the whole page loaded");
  return wholePage(zstdDecompressStreaming(input.buf.subarray(from), new Uint8Array(expected)));
}

/** {@link zstdDecompressInto} through zstddec's streaming API (the fallback; exported for tests). */
export function zstdDecompressStreaming(input: Uint8Array, out: Uint8Array): Uint8Array {
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

/** Whether pages go through the one-shot instance (for tests). */
export function zstdOneShot(): boolean {
  return oneShot() !== undefined;
}

/** The one-shot instance, for the tests' forced paths below. */
function requireOneShot(): OneShotExports {
  const wasm = oneShot();
  if (wasm === undefined) throw new Error("zstd one-shot instance unavailable");
  return wasm;
}

/** Force the one-shot path for a page of any size (for tests). */
export function zstdDecompressOneShot(input: Uint8Array, out: Uint8Array): Uint8Array {
  return decompressOneShot(requireOneShot(), input, out);
}

/** Force the stepped path for a page of any size, optionally with a smaller input window (for tests). */
export function zstdDecompressStepped(input: Uint8Array, out: Uint8Array, inputWindow?: number): Uint8Array {
  return decompressStepped(requireOneShot(), input, out, inputWindow);
}
