/**
 * tiktoken encodings (cl100k_base, o200k_base, p50k_base, r50k_base, or any `.tiktoken` file with
 * a split pattern): split with the encoding's pattern, then byte-level BPE per piece with
 * whole-piece lookup first — the order of OpenAI's core. Special tokens are plain text unless the
 * call allows them (`encode_ordinary` by default).
 */
import { BaseTokenizer } from "../base.js";
import { ByteBpeEncoder } from "../bpe/byte-encoder.js";
import { TextUnits } from "../bpe/text-units.js";
import { ByteVocab, type ByteVocabData } from "../bpe/byte-vocab.js";
import { PairTable, type PairTableData } from "../bpe/pair-table.js";
import { OutOfSpace } from "../hf/components.js";
import { compileSplitPattern } from "../regex.js";
import { wellFormed } from "../utf8.js";
import { VocabFormatError } from "../../errors.js";
import type { EncodeOptions, SpecialTokenIds } from "../types.js";
import { forEachPiece, pieceEndFor, type PieceEnd } from "../split.js";

export interface TiktokenDefinition {
  name: string;
  /** Where the ranks came from, for error messages. */
  file: string;
  /** `tokens[rank]` = the token's bytes. */
  tokens: ReadonlyArray<Uint8Array | undefined>;
  pattern: string;
  specialTokens: Readonly<Record<string, number>>;
}

/**
 * A loaded encoding's tables on SharedArrayBuffers plus what rebuilds the tokenizer around them;
 * structured-cloneable, so a worker thread gets the tokenizer without parsing or building anything.
 */
export interface SharedTiktoken {
  kind: "tiktoken";
  name: string;
  file: string;
  pattern: string;
  specialTokens: Record<string, number>;
  vocab: ByteVocabData;
  pairs: PairTableData;
}

export class TiktokenTokenizer extends BaseTokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly special: SpecialTokenIds;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly lossless = true;
  private readonly file: string;
  private readonly pattern: string;
  private vocab: ByteVocab;
  private pairs: PairTable;
  private bpe: ByteBpeEncoder;
  private shared: SharedTiktoken | undefined;
  private readonly sticky: RegExp;
  private readonly global: RegExp;
  /** The pattern's hand-written matcher (`pieceEndFor`), where there is one: tried before the regex. */
  private readonly scan: PieceEnd | undefined;
  private readonly units = new TextUnits();
  private readonly specialBytes = new Map<number, Uint8Array>();
  private readonly allSpecials: RegExp | undefined;

  /** From an encoding's ranks, or from another thread's `shareTables()` (its tables used in place). */
  constructor(def: TiktokenDefinition | SharedTiktoken) {
    super();
    this.name = def.name;
    this.file = def.file;
    this.pattern = def.pattern;
    if ("vocab" in def) {
      this.vocab = new ByteVocab(def.vocab);
      this.pairs = new PairTable(def.pairs);
      this.shared = def;
    } else {
      this.vocab = new ByteVocab(def.tokens);
      for (let b = 0; b < 256; b++) {
        if (this.vocab.byteIds[b] === -1) {
          throw new VocabFormatError(`byte 0x${b.toString(16).padStart(2, "0")} has no rank; a tiktoken vocabulary needs all 256 bytes`, {
            file: def.file,
          });
        }
      }
      this.pairs = this.vocab.pairsFromRanks();
    }
    this.bpe = new ByteBpeEncoder(this.vocab, this.pairs, true);
    this.sticky = compileSplitPattern(def.pattern, def.file, "yu");
    this.global = compileSplitPattern(def.pattern, def.file, "gu");
    this.scan = pieceEndFor(def.pattern);
    this.specialTokens = new Map(Object.entries(def.specialTokens));
    let maxId = this.vocab.size - 1;
    for (const [text, id] of this.specialTokens) {
      this.specialBytes.set(id, Buffer.from(text, "utf8"));
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;
    this.allSpecials = specialsPattern([...this.specialTokens.keys()]);
    const eot = this.specialTokens.get("<|endoftext|>");
    this.special = { bos: undefined, eos: eot, pad: undefined, unk: undefined };
  }

  /**
   * The tables on SharedArrayBuffers, for `new TiktokenTokenizer(shared)` in worker threads. The
   * first call moves this tokenizer onto the shared copies too, so the process holds one copy.
   */
  shareTables(): SharedTiktoken {
    if (this.shared === undefined) {
      const shared: SharedTiktoken = {
        kind: "tiktoken",
        name: this.name,
        file: this.file,
        pattern: this.pattern,
        specialTokens: Object.fromEntries(this.specialTokens),
        vocab: this.vocab.sharedData(),
        pairs: this.pairs.sharedData(),
      };
      this.vocab = new ByteVocab(shared.vocab);
      this.pairs = new PairTable(shared.pairs);
      this.bpe = new ByteBpeEncoder(this.vocab, this.pairs, true);
      this.shared = shared;
    }
    return this.shared;
  }

  protected encodeCore(text: string, out: Uint32Array, pos: number, options: EncodeOptions | undefined): number {
    text = wellFormed(text);
    const allowed = options?.allowedSpecial ?? "none";
    if (allowed === "none" || this.specialTokens.size === 0) return this.encodeOrdinary(text, 0, text.length, out, pos);
    const re = allowed === "all" ? this.allSpecials : specialsPattern(allowed);
    if (re === undefined) return this.encodeOrdinary(text, 0, text.length, out, pos);
    re.lastIndex = 0;
    let start = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      pos = this.encodeOrdinary(text, start, m.index, out, pos);
      if (pos >= out.length) throw new OutOfSpace();
      out[pos++] = this.specialTokens.get(m[0])!;
      start = m.index + m[0].length;
    }
    return this.encodeOrdinary(text, start, text.length, out, pos);
  }

  private encodeOrdinary(text: string, start: number, end: number, out: Uint32Array, pos: number): number {
    if (start >= end) return pos;
    const segment = start === 0 && end === text.length ? text : text.slice(start, end);
    const bpe = this.bpe;
    const units = this.units.of(segment);
    let p = pos;
    forEachPiece(
      this.sticky,
      this.global,
      segment,
      (s, e) => {
        p = bpe.encodeUnits(segment, units, s, e, out, p);
      },
      this.scan,
      units,
    );
    return p;
  }

  // decode copies bytes out of the vocabulary arena with no view per token (a `subarray` per token
  // made decoding ~4× slower than tiktoken's)
  protected override decodedLength(id: number): number {
    return this.vocab.has(id) ? this.vocab.byteLength(id) : (this.specialBytes.get(id)?.length ?? 0);
  }

  protected override copyDecoded(id: number, out: Uint8Array, at: number): number {
    return this.vocab.has(id) ? this.vocab.copyBytes(id, out, at) : super.copyDecoded(id, out, at);
  }

  tokenBytes(id: number): Uint8Array | undefined {
    if (this.vocab.has(id)) return this.vocab.bytes(id);
    return this.specialBytes.get(id);
  }

  idToToken(id: number): string | undefined {
    const b = this.tokenBytes(id);
    return b === undefined ? undefined : Buffer.from(b).toString("utf8");
  }

  tokenToId(token: string): number | undefined {
    return this.specialTokens.get(token) ?? this.vocab.idOfText(token);
  }
}

/** An alternation matching any of `tokens` (longest first), or undefined for an empty list. */
export function specialsPattern(tokens: readonly string[]): RegExp | undefined {
  if (tokens.length === 0) return undefined;
  const sorted = [...tokens].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
}
