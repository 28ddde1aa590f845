/**
 * A chunk of encoded documents in ONE `ArrayBuffer`, so a worker hands it back with a single transfer
 * (no structured clone of number arrays) and the packer reads ids as views into it (no copy):
 *
 * | u32 × 4 | u32 × T | u32 × (n + 1) | u8 × n | u8 × T (when masked) |
 * |---|---|---|---|---|
 * | n, T, flags (bit 0: masks present), UTF-16 chars of input | ids | offsets into ids | present (0: document encoded to nothing, e.g. `text: null`) | loss masks |
 *
 * Ids come right after the header so a builder encodes straight into the buffer it returns, and the
 * buffer may be longer than its contents: a consumer done with a chunk hands the buffer back
 * ({@link recycleChunkBuffer}, or with a worker's next task) and the next chunk is written into it.
 * That saves a fresh buffer per chunk (its page faults: ~340 MB/s first-touch on this VM) and a
 * copy out of a scratch array.
 */
import type { TokenizedDoc } from "../../packers/index.js";
import { encodeDocument, type ChatTemplate, type EncodeDocumentOptions, type SftDocument } from "../sft/index.js";
import { encodeIntoGrowable } from "../tokenizers/grow.js";
import type { Tokenizer } from "../tokenizers/types.js";

const HEADER_WORDS = 4;

/** Decoded view of an encoded chunk. */
export interface EncodedChunk {
  /** Number of input documents. */
  count: number;
  /** UTF-16 code units of input text (for throughput reporting). */
  chars: number;
  /** Document i as views into `buffer` (made on each call); undefined where it encoded to nothing. */
  doc(i: number): TokenizedDoc | undefined;
  buffer: ArrayBuffer;
}

function docChars(d: SftDocument): number {
  let n = (d.text?.length ?? 0) + (d.prompt?.length ?? 0) + (d.completion?.length ?? 0);
  if (d.messages) for (const m of d.messages) n += m.content.length;
  return n;
}

/** Chunk buffers handed back on this thread, largest last; up to {@link SPARE_BYTES} are kept, the rest left to GC. */
const spareBuffers: ArrayBuffer[] = [];
let spareBytes = 0;
/**
 * Enough for a bfd window's worth of small chunks (a window frees ~8 of 256 documents at once); the
 * calling thread of a pipeline with workers keeps here the buffers it moves to them with tasks.
 */
const SPARE_BYTES = 16 << 20;
/** Words of the last chunk finished on this thread: a fresh buffer starts a little above it. */
let lastWords = 1 << 16;

/**
 * Give a chunk buffer back for the next chunk built on this thread. Only once nothing views it any
 * more: its documents' arrays are overwritten.
 */
export function recycleChunkBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0 || buffer instanceof SharedArrayBuffer) return; // detached (transferred away)
  spareBuffers.push(buffer);
  spareBytes += buffer.byteLength;
  spareBuffers.sort((a, b) => a.byteLength - b.byteLength);
  while (spareBytes > SPARE_BYTES && spareBuffers.length > 1) spareBytes -= spareBuffers.shift()!.byteLength;
}

/** Up to `max` of this thread's recycled chunk buffers, largest first (to move to a worker). */
export function takeChunkBuffers(max: number): ArrayBuffer[] {
  const taken: ArrayBuffer[] = [];
  while (taken.length < max && spareBuffers.length > 0) {
    const b = spareBuffers.pop()!;
    spareBytes -= b.byteLength;
    taken.push(b);
  }
  return taken;
}

function takeWords(): Uint32Array<ArrayBuffer> {
  const [b] = takeChunkBuffers(1);
  return b !== undefined ? new Uint32Array(b) : new Uint32Array(lastWords + (lastWords >>> 3));
}

/** This thread's loss-mask scratch (chats and prompt/completion pairs only), copied into the chunk at the end. */
let scratchMask = new Uint8Array(1 << 16);
let builderBusy = false;

function grownMasks(n: number): void {
  if (scratchMask.length >= n) return;
  const grown = new Uint8Array(Math.max(n, scratchMask.length * 2));
  grown.set(scratchMask);
  scratchMask = grown;
}

/**
 * Builds one chunk buffer a document at a time, so a reader can encode each document as it arrives
 * and let its text die young (holding thousands of strings until the end of a piece made V8 promote
 * them to old space: GC was ~12% of a worker's time). Plain text documents (the common case) are
 * encoded with `encodeInto` straight into the chunk buffer (a recycled one when this thread has one);
 * chats and prompt/completion pairs go through `encodeDocument`. One builder per thread at a time.
 */
export class ChunkBuilder {
  private readonly offsets: number[] = [];
  private readonly present: number[] = [];
  private readonly eos: number | undefined;
  private readonly plain: { addSpecialTokens: boolean };
  /** The chunk buffer being written: header, then ids from word HEADER_WORDS. */
  private words: Uint32Array<ArrayBuffer>;
  /** Ids so far. */
  private total = 0;
  private masked = false;
  private chars = 0;
  private done = false;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: EncodeDocumentOptions,
  ) {
    if (builderBusy) throw new Error("ChunkBuilder: another builder on this thread has not finished");
    builderBusy = true;
    this.eos = (options.textEos ?? true) === false ? undefined : tokenizer.special.eos;
    this.plain = { addSpecialTokens: options.addSpecialTokens ?? false };
    this.words = takeWords();
  }

  /** Room for `n` more ids (and their masks when masked). */
  private reserve(n: number): void {
    const need = HEADER_WORDS + this.total + n;
    if (this.words.length < need) {
      const grown = new Uint32Array(Math.max(need, 2 * this.words.length));
      grown.set(this.words.subarray(0, HEADER_WORDS + this.total));
      this.words = grown;
    }
    if (this.masked) grownMasks(this.total + n);
  }

  /** Encode one document and append it. */
  add(d: SftDocument): void {
    this.chars += docChars(d);
    this.offsets.push(this.total);
    const tokenizer = this.tokenizer;
    const total = this.total;
    if (d.messages === undefined && (d.prompt === undefined || d.completion === undefined)) {
      if (d.text === null || d.text === undefined) {
        this.present.push(0);
        return;
      }
      // encodeIntoGrowable grows the buffer when the text does not fit (rare once buffers are
      // recycled: reserving the worst case, 3 ids per UTF-16 unit, grew nearly every chunk's buffer)
      const r = encodeIntoGrowable(tokenizer, d.text, this.words, HEADER_WORDS + total, this.plain);
      this.words = r.buf as Uint32Array<ArrayBuffer>;
      let k = r.count;
      this.reserve(k + 1);
      if (this.eos !== undefined) this.words[HEADER_WORDS + total + k++] = this.eos;
      if (this.masked) scratchMask.fill(1, total, total + k);
      this.total = total + k;
      this.present.push(1);
      return;
    }
    const e = encodeDocument(tokenizer, d, this.options);
    if (e === undefined) {
      this.present.push(0);
      return;
    }
    if (e.lossMask !== undefined && !this.masked) {
      this.masked = true;
      grownMasks(total + e.ids.length);
      scratchMask.fill(1, 0, total); // documents so far were fully trained
    }
    this.reserve(e.ids.length);
    this.words.set(e.ids, HEADER_WORDS + total);
    if (this.masked) {
      if (e.lossMask !== undefined) scratchMask.set(e.lossMask, total);
      else scratchMask.fill(1, total, total + e.ids.length);
    }
    this.total = total + e.ids.length;
    this.present.push(1);
  }

  /** Ids written so far. */
  get tokens(): number {
    return this.total;
  }

  /** Documents added so far. */
  get count(): number {
    return this.present.length;
  }

  /** The chunk buffer (see the module comment); the builder cannot be used afterwards. */
  finish(): ArrayBuffer {
    if (this.done) throw new Error("ChunkBuilder: finish() called twice");
    this.done = true;
    builderBusy = false;
    const n = this.present.length;
    const total = this.total;
    const offsetsAt = HEADER_WORDS + total;
    const presentStart = 4 * (offsetsAt + n + 1);
    const bytes = presentStart + n + (this.masked ? total : 0);
    let words = this.words;
    if (words.byteLength < bytes) {
      const grown = new Uint32Array(Math.ceil(bytes / 4));
      grown.set(words.subarray(0, offsetsAt));
      words = grown;
    }
    lastWords = Math.max(1 << 16, Math.ceil(bytes / 4));
    words[0] = n;
    words[1] = total;
    words[2] = this.masked ? 1 : 0;
    words[3] = this.chars;
    for (let i = 0; i < n; i++) words[offsetsAt + i] = this.offsets[i]!;
    words[offsetsAt + n] = total;
    const present = new Uint8Array(words.buffer, presentStart, n);
    for (let i = 0; i < n; i++) present[i] = this.present[i]!;
    if (this.masked) new Uint8Array(words.buffer, presentStart + n, total).set(scratchMask.subarray(0, total));
    return words.buffer;
  }

  /** Give the builder's buffer back without a result (after an error). */
  abandon(): void {
    if (!this.done) {
      builderBusy = false;
      recycleChunkBuffer(this.words.buffer);
    }
    this.done = true;
  }
}

/**
 * Encode `docs` into one chunk buffer (a {@link ChunkBuilder} over them). The same code runs on
 * worker threads and on the calling thread, so both produce identical bytes.
 */
export function encodeChunk(tokenizer: Tokenizer, docs: Iterable<SftDocument>, options: EncodeDocumentOptions): ArrayBuffer {
  const b = new ChunkBuilder(tokenizer, options);
  try {
    for (const d of docs) b.add(d);
    return b.finish();
  } finally {
    b.abandon();
  }
}

/**
 * The documents of a buffer from {@link encodeChunk}, as views into it (no copy), made one at a time
 * by `doc(i)` so a chunk of thousands of documents does not hold thousands of objects. A document
 * that outlives its chunk keeps the whole buffer alive, so holders of long-lived documents copy them:
 * the packer's bfd/ffd windows copy the leftovers they carry over (which can wait many windows);
 * without that, views made the pipeline's memory grow with the input (peak RSS 140 → 256 MB from 8k
 * to 100k documents).
 */
export function decodeChunk(buffer: ArrayBuffer): EncodedChunk {
  const top = new Uint32Array(buffer, 0, HEADER_WORDS);
  const n = top[0]!;
  const total = top[1]!;
  const masked = (top[2]! & 1) === 1;
  const ids = new Uint32Array(buffer, 4 * HEADER_WORDS, total);
  const offsets = new Uint32Array(buffer, 4 * (HEADER_WORDS + total), n + 1);
  const presentStart = 4 * (HEADER_WORDS + total + n + 1);
  const present = new Uint8Array(buffer, presentStart, n);
  const masks = masked ? new Uint8Array(buffer, presentStart + n, total) : undefined;
  const doc = (i: number): TokenizedDoc | undefined => {
    if (present[i] !== 1) return undefined; // encoded to nothing, or out of range
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    return masks === undefined ? { ids: ids.subarray(a, b) } : { ids: ids.subarray(a, b), lossMask: masks.subarray(a, b) };
  };
  return { count: n, chars: top[3]!, doc, buffer };
}

/**
 * A chat template that can cross a thread boundary: a built-in name, Jinja source, or a
 * `tokenizer_config.json` path. Each worker compiles it once.
 */
export type TemplateSpec =
  | "chatml"
  | "llama3"
  | { name?: string; source: string; bosToken?: string; eosToken?: string; endOfTurn?: string }
  | { config: string; name?: string };

/** Everything a worker needs to encode documents: plain data only. */
export interface EncodeSpec {
  /** Tokenizer spec for `loadTokenizer`. */
  tokenizer: string;
  /** Chat template for `messages` documents. */
  template?: TemplateSpec;
  /** Options of `encodeDocument` other than the template. */
  encode?: Omit<EncodeDocumentOptions, "template">;
}

/** Resolve a template spec (lazily imported by callers that have one). */
export async function resolveTemplate(spec: TemplateSpec): Promise<ChatTemplate> {
  const sft = await import("../sft/index.js");
  if (spec === "chatml" || spec === "llama3") return sft.builtinTemplate(spec);
  if ("config" in spec) return sft.templateFromConfig(spec.config, spec.name ?? "default");
  return sft.chatTemplate(spec.name ?? "custom", spec.source, spec);
}
