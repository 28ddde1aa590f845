/**
 * A chunk of encoded documents in ONE `ArrayBuffer`, so a worker hands it back with a single transfer
 * (no structured clone of number arrays) and the packer reads ids as views into it (no copy):
 *
 * | u32 × 4 | u32 × (n + 1) | u32 × T | u8 × n | u8 × T (when masked) |
 * |---|---|---|---|---|
 * | n, T, flags (bit 0: masks present), UTF-16 chars of input | offsets into ids | ids | present (0: document encoded to nothing, e.g. `text: null`) | loss masks |
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
  /** `docs[i]` is undefined where document i encoded to nothing. Ids/masks view `buffer`. */
  docs: (TokenizedDoc | undefined)[];
  buffer: ArrayBuffer;
}

function docChars(d: SftDocument): number {
  let n = (d.text?.length ?? 0) + (d.prompt?.length ?? 0) + (d.completion?.length ?? 0);
  if (d.messages) for (const m of d.messages) n += m.content.length;
  return n;
}

/** This thread's growable scratch: documents are encoded straight into it, then copied out once. */
let scratch = new Uint32Array(1 << 16);
let scratchMask = new Uint8Array(1 << 16);
let scratchBusy = false;

function reserve(n: number, withMasks: boolean): void {
  if (scratch.length < n) {
    const grown = new Uint32Array(Math.max(n, scratch.length * 2));
    grown.set(scratch);
    scratch = grown;
  }
  if (withMasks && scratchMask.length < n) {
    const grown = new Uint8Array(Math.max(n, scratchMask.length * 2));
    grown.set(scratchMask);
    scratchMask = grown;
  }
}

/**
 * Builds one chunk buffer a document at a time, so a reader can encode each document as it arrives
 * and let its text die young (holding thousands of strings until the end of a piece made V8 promote
 * them to old space: GC was ~12% of a worker's time). Plain text documents (the common case) are
 * encoded with `encodeInto` straight into this thread's scratch array (no per-document arrays);
 * chats and prompt/completion pairs go through `encodeDocument`. One builder per thread at a time.
 */
export class ChunkBuilder {
  private readonly offsets: number[] = [];
  private readonly present: number[] = [];
  private readonly eos: number | undefined;
  private readonly plain: { addSpecialTokens: boolean };
  private total = 0;
  private masked = false;
  private chars = 0;
  private done = false;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: EncodeDocumentOptions,
  ) {
    if (scratchBusy) throw new Error("ChunkBuilder: another builder on this thread has not finished");
    scratchBusy = true;
    this.eos = (options.textEos ?? true) === false ? undefined : tokenizer.special.eos;
    this.plain = { addSpecialTokens: options.addSpecialTokens ?? false };
  }

  /** Encode one document and append it. */
  add(d: SftDocument): void {
    this.chars += docChars(d);
    this.offsets.push(this.total);
    const tokenizer = this.tokenizer;
    let total = this.total;
    if (d.messages === undefined && (d.prompt === undefined || d.completion === undefined)) {
      if (d.text === null || d.text === undefined) {
        this.present.push(0);
        return;
      }
      // room for 3 ids per UTF-16 unit (a UTF-8 byte each) + 16 post-processor specials + EOS; a
      // normalizer that expands text further (NFKD ligatures) makes encodeIntoGrowable grow it
      reserve(total + 3 * d.text.length + 17, this.masked);
      const r = encodeIntoGrowable(tokenizer, d.text, scratch, total, this.plain);
      scratch = r.buf;
      let k = r.count;
      reserve(total + k + 1, this.masked);
      if (this.eos !== undefined) scratch[total + k++] = this.eos;
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
      reserve(total + e.ids.length, true);
      scratchMask.fill(1, 0, total); // documents so far were fully trained
    }
    reserve(total + e.ids.length, this.masked);
    scratch.set(e.ids, total);
    if (this.masked) {
      if (e.lossMask !== undefined) scratchMask.set(e.lossMask, total);
      else scratchMask.fill(1, total, total + e.ids.length);
    }
    this.total = total + e.ids.length;
    this.present.push(1);
  }

  /** Documents added so far. */
  get count(): number {
    return this.present.length;
  }

  /** The chunk buffer (see the module comment); the builder cannot be used afterwards. */
  finish(): ArrayBuffer {
    if (this.done) throw new Error("ChunkBuilder: finish() called twice");
    this.done = true;
    scratchBusy = false;
    const n = this.present.length;
    const total = this.total;
    const idsStart = 4 * (HEADER_WORDS + n + 1);
    const presentStart = idsStart + 4 * total;
    const masksStart = presentStart + n;
    const buffer = new ArrayBuffer(masksStart + (this.masked ? total : 0));
    const head = new Uint32Array(buffer, 0, HEADER_WORDS + n + 1);
    head[0] = n;
    head[1] = total;
    head[2] = this.masked ? 1 : 0;
    head[3] = this.chars;
    for (let i = 0; i < n; i++) head[HEADER_WORDS + i] = this.offsets[i]!;
    head[HEADER_WORDS + n] = total;
    new Uint32Array(buffer, idsStart, total).set(scratch.subarray(0, total));
    const present = new Uint8Array(buffer, presentStart, n);
    for (let i = 0; i < n; i++) present[i] = this.present[i]!;
    if (this.masked) new Uint8Array(buffer, masksStart, total).set(scratchMask.subarray(0, total));
    return buffer;
  }

  /** Give the scratch back without a result (after an error). */
  abandon(): void {
    if (!this.done) scratchBusy = false;
    this.done = true;
  }
}

/**
 * Encode `docs` into one chunk buffer (a {@link ChunkBuilder} over the array). The same code runs on
 * worker threads and on the calling thread, so both produce identical bytes.
 */
export function encodeChunk(tokenizer: Tokenizer, docs: readonly SftDocument[], options: EncodeDocumentOptions): ArrayBuffer {
  const b = new ChunkBuilder(tokenizer, options);
  try {
    for (const d of docs) b.add(d);
    return b.finish();
  } finally {
    b.abandon();
  }
}

/**
 * The documents of a buffer from {@link encodeChunk}, as views into it (no copy). A document that
 * outlives its chunk keeps the whole buffer alive, so holders of long-lived documents copy them: the
 * packer's bfd/ffd windows copy the leftovers they carry over (which can wait many windows); without
 * that, views made the pipeline's memory grow with the input (peak RSS 140 → 256 MB from 8k to 100k
 * documents).
 */
export function decodeChunk(buffer: ArrayBuffer): EncodedChunk {
  const top = new Uint32Array(buffer, 0, HEADER_WORDS);
  const n = top[0]!;
  const total = top[1]!;
  const masked = (top[2]! & 1) === 1;
  const offsets = new Uint32Array(buffer, 4 * HEADER_WORDS, n + 1);
  const idsStart = 4 * (HEADER_WORDS + n + 1);
  const ids = new Uint32Array(buffer, idsStart, total);
  const present = new Uint8Array(buffer, idsStart + 4 * total, n);
  const masks = masked ? new Uint8Array(buffer, idsStart + 4 * total + n, total) : undefined;
  const docs: (TokenizedDoc | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (present[i] === 0) continue;
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    docs[i] = masks === undefined ? { ids: ids.subarray(a, b) } : { ids: ids.subarray(a, b), lossMask: masks.subarray(a, b) };
  }
  return { count: n, chars: top[3]!, docs, buffer };
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
