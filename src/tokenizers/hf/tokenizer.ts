/**
 * A HuggingFace `tokenizer.json`, run in `tokenizers`' order:
 *   1. split the raw text on added tokens (`normalized: false`),
 *   2. normalize each remaining segment, then split it on `normalized: true` added tokens,
 *   3. pre-tokenize into pieces, 4. model → ids, written straight into the caller's buffer,
 *   5. post-processor specials around the sequence (when `addSpecialTokens`).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { VocabFormatError } from "../../errors.js";
import { BaseTokenizer } from "../base.js";
import type { EncodeOptions, SpecialTokenIds } from "../types.js";
import { forEachSplit, type PieceEnd } from "../split.js";
import { TextUnits } from "../bpe/text-units.js";
import { wellFormed } from "../utf8.js";
import { AddedTokenMatcher, type AddedTokenJson, type Segment } from "./added-tokens.js";
import { unicodeToByte } from "./byte-level.js";
import { byteLevelBpeModel, charLevelBpeModel, createBpeModel, type BpeJson } from "./bpe-model.js";
import { ensureSpace, type Decoder, type Model, type Normalizer, type SharedModel } from "./components.js";
import { createDecoder } from "./decoders.js";
import { createNormalizer } from "./normalizers.js";
import { createPostProcessor, type Affixes } from "./post-processors.js";
import { createPreTokenizer, type BuiltPreTokenizer } from "./pre-tokenizers.js";
import { createWordPieceModel, wordPieceModel, type WordPieceJson } from "./wordpiece.js";

interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  normalizer?: Parameters<typeof createNormalizer>[0];
  pre_tokenizer?: Parameters<typeof createPreTokenizer>[0];
  post_processor?: Parameters<typeof createPostProcessor>[0];
  decoder?: Parameters<typeof createDecoder>[0];
  model?: { type?: string };
}

/**
 * A tokenizer.json for worker threads: the file's JSON without the model's vocab and merges, the ids
 * found for bos/eos/pad, and the model's shared tables (BPE, byte-level or SentencePiece-style, and
 * WordPiece).
 */
export interface SharedHfTokenizer {
  kind: "hf";
  name: string;
  file: string;
  config: unknown;
  special: SpecialTokenIds;
  model: SharedModel;
}

/** The model over another thread's shared tables. */
function modelFromShared(m: SharedModel): Model {
  if (m.kind === "char") return charLevelBpeModel(m);
  if (m.kind === "wordpiece") return wordPieceModel(m);
  return byteLevelBpeModel(m);
}

/** Normalizers after which decode(encode(s)) can differ from s. */
const LOSSY_NORMALIZERS = /"type":"(Lowercase|NFKC|NFKD|StripAccents|Strip|BertNormalizer|Replace)"/;

export class HfTokenizer extends BaseTokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly special: SpecialTokenIds;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly lossless: boolean;
  private readonly model: Model;
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenizer: BuiltPreTokenizer | undefined;
  private readonly decoder: Decoder | undefined;
  private readonly affixes: Affixes;
  private readonly rawAdded: AddedTokenMatcher;
  private readonly normalizedAdded: AddedTokenMatcher;
  private readonly addedById = new Map<number, string>();
  private readonly addedByContent = new Map<string, number>();
  /** With a lone ByteLevel decoder: each added token's bytes as that decoder maps them (see `decodedLength`). */
  private readonly addedBytes = new Map<number, Uint8Array>();
  private readonly byteLevelDecode: boolean;
  private readonly byteLevel: boolean;
  private readonly segments: Segment[] = [];
  /** Sticky + global copies of the pre-tokenizer's one offset split, when the model encodes spans (the fast path). */
  private readonly spanSplit: { sticky: RegExp; global: RegExp; gaps: boolean; scan: PieceEnd | undefined } | undefined;
  private readonly units = new TextUnits();

  /**
   * @param file where the JSON came from, named in every error.
   * @param shared another thread's `shareTables()` to build on (`raw` is then its `config`).
   */
  constructor(name: string, raw: unknown, file: string, shared?: Omit<SharedHfTokenizer, "kind" | "name" | "file" | "config">) {
    super();
    this.name = name;
    if (typeof raw !== "object" || raw === null || !("model" in raw)) {
      throw new VocabFormatError('not a HuggingFace tokenizer.json (no "model" field)', { file });
    }
    const json = raw as TokenizerJson;
    this.normalizer = createNormalizer(json.normalizer, file);
    this.preTokenizer = createPreTokenizer(json.pre_tokenizer, file);
    this.byteLevel = this.preTokenizer?.byteLevel === true || (json.decoder as { type?: string } | null)?.type === "ByteLevel";
    this.model = shared !== undefined ? modelFromShared(shared.model) : createModel(json.model, this.byteLevel, file);
    this.decoder = createDecoder(json.decoder, file);
    this.affixes = createPostProcessor(json.post_processor, file);
    const added = json.added_tokens ?? [];
    this.rawAdded = new AddedTokenMatcher(added.filter((t) => t.normalized !== true));
    this.normalizedAdded = new AddedTokenMatcher(added.filter((t) => t.normalized === true));
    const specials = new Map<string, number>();
    let maxId = this.model.vocabSize - 1;
    for (const t of added) {
      this.addedById.set(t.id, t.content);
      this.addedByContent.set(t.content, t.id);
      if (t.special === true) specials.set(t.content, t.id);
      maxId = Math.max(maxId, t.id);
    }
    this.specialTokens = specials;
    this.byteLevelDecode = (json.decoder as { type?: string } | null | undefined)?.type === "ByteLevel";
    if (this.byteLevelDecode) for (const [id, content] of this.addedById) this.addedBytes.set(id, unicodeToByte(content) ?? Buffer.from(content, "utf8"));
    this.vocabSize = maxId + 1;
    this.special = shared !== undefined ? shared.special : this.findSpecialIds(file);
    const modelType = json.model?.type;
    this.lossless =
      modelType === "BPE" &&
      (this.byteLevel || (json.model as BpeJson).byte_fallback === true) &&
      !LOSSY_NORMALIZERS.test(JSON.stringify(json.normalizer ?? null));
    const model = this.model;
    const split = this.preTokenizer?.offsetSplit;
    this.spanSplit =
      split !== undefined && model.encodeSpan !== undefined
        ? { sticky: new RegExp(split.re.source, split.re.flags.replace("g", "") + "y"), global: new RegExp(split.re.source, split.re.flags), gaps: split.gaps, scan: split.scan }
        : undefined;
    if (model.shareTables !== undefined) {
      const shareModel = model.shareTables.bind(model);
      // what a shared copy rebuilds from: the JSON less the model's vocab (and merges)
      const config: TokenizerJson = { ...json, model: { ...json.model, vocab: {}, ...("merges" in (json.model ?? {}) ? { merges: [] } : {}) } as TokenizerJson["model"] };
      let shared: SharedHfTokenizer | undefined; // made once: every caller gets the same tables
      this.shareTables = () => (shared ??= { kind: "hf", name, file, config, special: this.special, model: shareModel() });
    }
  }

  /** BPE and WordPiece models: see `Tokenizer.shareTables`. */
  readonly shareTables?: () => SharedHfTokenizer;

  protected encodeCore(text: string, out: Uint32Array, pos: number, options: EncodeOptions | undefined): number {
    text = wellFormed(text);
    const addSpecial = options?.addSpecialTokens !== false;
    if (addSpecial) {
      ensureSpace(out, pos, this.affixes.prefix.length);
      out.set(this.affixes.prefix, pos);
      pos += this.affixes.prefix.length;
    }
    const raw = this.segments;
    raw.length = 0;
    this.rawAdded.split(text, raw);
    const nested: Segment[] = [];
    for (let i = 0; i < raw.length; i++) {
      const seg = raw[i]!;
      if (typeof seg === "number") {
        ensureSpace(out, pos, 1);
        out[pos++] = seg;
        continue;
      }
      const normalized = this.normalizer ? this.normalizer.normalize(seg) : seg;
      if (this.normalizedAdded.empty) {
        pos = this.encodeSegment(normalized, out, pos);
        continue;
      }
      nested.length = 0;
      this.normalizedAdded.split(normalized, nested);
      for (const sub of nested) {
        if (typeof sub === "number") {
          ensureSpace(out, pos, 1);
          out[pos++] = sub;
        } else pos = this.encodeSegment(sub, out, pos);
      }
    }
    if (addSpecial) {
      ensureSpace(out, pos, this.affixes.suffix.length);
      out.set(this.affixes.suffix, pos);
      pos += this.affixes.suffix.length;
    }
    return pos;
  }

  private encodeSegment(text: string, out: Uint32Array, pos: number): number {
    if (text.length === 0) return pos;
    const model = this.model;
    if (this.preTokenizer === undefined) return model.encodePiece(text, out, pos);
    const span = this.spanSplit;
    if (span !== undefined) {
      const encodeSpan = model.encodeSpan!;
      let p = pos;
      const units = this.units.of(text);
      forEachSplit(
        span.sticky,
        span.global,
        text,
        span.gaps,
        (s, e) => {
          p = encodeSpan(text, units, s, e, out, p);
        },
        span.scan,
        units,
      );
      return p;
    }
    const pieces = this.preTokenizer.split([text]);
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (piece.length > 0) pos = model.encodePiece(piece, out, pos);
    }
    return pos;
  }

  override decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string {
    if (this.byteLevelDecode) return super.decode(ids, options);
    const skip = options?.skipSpecialTokens === true;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.isSpecial(id)) continue;
      const t = this.idToToken(id);
      if (t !== undefined) tokens.push(t);
    }
    return this.decoder ? this.decoder.decodeChain(tokens).join("") : tokens.join(" ");
  }

  // A lone `ByteLevel` decoder runs as `BaseTokenizer.decode`, by bytes: a vocab token's bytes are
  // copied out of the model's arena; an added token's are what the decoder maps its string to (its
  // chars' bytes, or its UTF-8 when a char is outside the map), as for a model token with no bytes.
  // Decoding a string per token and mapping it back char by char was ~7× slower (Llama-3).
  protected override decodedLength(id: number): number {
    const n = this.arenaLength(id);
    return n >= 0 ? n : (this.decoderBytes(id)?.length ?? 0);
  }

  protected override copyDecoded(id: number, out: Uint8Array, at: number): number {
    if (this.arenaLength(id) >= 0) return this.model.copyTokenBytes!(id, out, at);
    const b = this.decoderBytes(id);
    if (b === undefined) return at;
    out.set(b, at);
    return at + b.length;
  }

  /** Length of a model token's bytes in the model's arena; -1 for added tokens and ids it has none for. */
  private arenaLength(id: number): number {
    const m = this.model;
    return m.copyTokenBytes === undefined || this.addedBytes.has(id) ? -1 : (m.tokenByteLength?.(id) ?? -1);
  }

  /** What the ByteLevel decoder makes of a token outside the arena (undefined for an unknown id). */
  private decoderBytes(id: number): Uint8Array | undefined {
    const added = this.addedBytes.get(id);
    if (added !== undefined) return added;
    const t = this.model.idToToken(id);
    return t === undefined ? undefined : (unicodeToByte(t) ?? Buffer.from(t, "utf8"));
  }

  tokenBytes(id: number): Uint8Array | undefined {
    const token = this.idToToken(id);
    if (token === undefined) return undefined;
    if (this.byteLevel && !this.addedById.has(id)) return unicodeToByte(token) ?? Buffer.from(token, "utf8");
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
    if (byte) return Uint8Array.of(parseInt(byte[1]!, 16));
    return Buffer.from(this.decoder ? this.decoder.decodeChain([" " + token]).join("").slice(1) : token, "utf8");
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id) ?? this.model.idToToken(id);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.model.tokenToId(token);
  }

  /** bos/eos/pad from a tokenizer_config.json beside the file, else from well-known token names. */
  private findSpecialIds(file: string): SpecialTokenIds {
    const config = readConfig(file);
    const pick = (key: string, names: string[]): number | undefined => {
      const fromConfig = config[key];
      const name = typeof fromConfig === "string" ? fromConfig : (fromConfig as { content?: string } | undefined)?.content;
      if (name !== undefined) {
        const id = this.tokenToId(name);
        if (id !== undefined) return id;
      }
      for (const n of names) {
        const id = this.tokenToId(n);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    return {
      bos: pick("bos_token", ["<s>", "<|begin_of_text|>", "<bos>", "[CLS]"]),
      eos: pick("eos_token", ["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "[SEP]"]),
      pad: pick("pad_token", ["<pad>", "[PAD]", "<|pad|>"]),
      unk: this.model.unkId,
    };
  }
}

function readConfig(file: string): Record<string, unknown> {
  const path = join(dirname(file), "tokenizer_config.json");
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function createModel(model: { type?: string } | undefined, byteLevel: boolean, file: string): Model {
  switch (model?.type) {
    case "BPE":
      return createBpeModel(model as BpeJson, byteLevel, file);
    case "WordPiece":
      return createWordPieceModel(model as WordPieceJson, file);
    case undefined:
      // Older files omit "type" for BPE.
      if (model && "merges" in model) return createBpeModel(model as BpeJson, byteLevel, file);
      throw new VocabFormatError('model has no "type"', { file, field: "model" });
    default:
      throw new VocabFormatError(`unsupported model type "${model?.type}" (supported: BPE, WordPiece)`, {
        file,
        field: "model.type",
      });
  }
}
