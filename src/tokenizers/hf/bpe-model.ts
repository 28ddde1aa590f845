/**
 * HF `BPE` model, in two modes:
 * - byte-level (a ByteLevel pre-tokenizer is present: GPT-2, Llama-3, Qwen): the vocab's
 *   byte→unicode strings are mapped back to bytes and pieces are merged over raw UTF-8, sharing
 *   tiktoken's encoder (`ignore_merges` = whole-piece lookup first).
 * - char-level (SentencePiece-style, Llama-2): initial symbols are code points, missing ones
 *   become `<0xXX>` byte tokens (`byte_fallback`) or `unk` (consecutive unks fused with `fuse_unk`).
 *   When no merge can span a word start (`splitsAtWordStarts`), a piece is encoded word by word
 *   through a cache, with the same ids (Llama-2 on en text 3.2 → 14–22 MB/s; `bench:tokenize-hf`).
 * Merge priority is the merges-list index, as in `tokenizers`.
 */
import { VocabFormatError } from "../../errors.js";
import { ByteBpeEncoder } from "../bpe/byte-encoder.js";
import { ByteVocab, type ByteVocabData } from "../bpe/byte-vocab.js";
import { BpeMerger } from "../bpe/merge.js";
import { PairTable, type PairTableData } from "../bpe/pair-table.js";
import { PieceCache } from "../bpe/piece-cache.js";
import { TextUnits } from "../bpe/text-units.js";
import { hashUnitsPacked, PACKED_WORDS } from "../bpe/utf16-table.js";
import { utf8EncodeRange } from "../utf8.js";
import { idsOfTokens, packTokens, tokensById, unpackTokens, type Model, type PackedTokens } from "./components.js";
import { byteToUnicode, unicodeToByte } from "./byte-level.js";

export interface BpeJson {
  type: "BPE";
  vocab: Record<string, number>;
  merges: Array<string | [string, string]>;
  unk_token?: string | null;
  continuing_subword_prefix?: string | null;
  end_of_word_suffix?: string | null;
  fuse_unk?: boolean;
  byte_fallback?: boolean;
  ignore_merges?: boolean;
  dropout?: number | null;
}

/** Pieces longer than this (UTF-16 units) are not cached: SentencePiece models with no pre-tokenizer pass whole segments. */
const MAX_CACHED_PIECE = 256;

function splitMerge(m: string | [string, string], i: number, file: string): [string, string] {
  if (Array.isArray(m)) return m;
  const sp = m.indexOf(" ", 1);
  if (sp < 0) throw new VocabFormatError(`merge ${i} is not "left right": ${JSON.stringify(m)}`, { file, field: "model.merges" });
  return [m.slice(0, sp), m.slice(sp + 1)];
}

/**
 * Builds the pair table from the merges list; priority = list index. Lookups go through a Map: on
 * Llama-3's 280k merges, the parsed JSON object (a 128k-key dictionary) took 3× as long.
 */
function pairsFromMerges(json: BpeJson, ids: ReadonlyMap<string, number>, file: string): PairTable {
  const table = new PairTable(json.merges.length);
  const prefixLen = json.continuing_subword_prefix?.length ?? 0;
  for (let i = 0; i < json.merges.length; i++) {
    const [a, b] = splitMerge(json.merges[i]!, i, file);
    const ia = ids.get(a);
    const ib = ids.get(b);
    const merged = ids.get(a + b.slice(prefixLen));
    if (ia === undefined || ib === undefined || merged === undefined) {
      throw new VocabFormatError(`merge ${i} ("${a} ${b}") refers to a token missing from the vocab`, {
        file,
        field: "model.merges",
      });
    }
    table.set(ia, ib, i, merged);
  }
  return table;
}

/**
 * A byte-level BPE model's tables on SharedArrayBuffers, for worker threads (`byteLevelBpeModel`).
 * `other` holds the vocab strings the byte-level tables cannot: ones with a char outside the
 * byte-level alphabet, or empty (the encoder never produces them; `idToToken` still names them).
 */
export interface SharedByteBpe {
  kind: "byte";
  vocab: ByteVocabData;
  pairs: PairTableData;
  vocabSize: number;
  unkId: number | undefined;
  ignoreMerges: boolean;
  other: Map<string, number>;
}

/**
 * A char-level (SentencePiece-style) BPE model's tables for worker threads: the pair table on a
 * SharedArrayBuffer, and the vocab strings by id (null for an id the vocab skips), from which each
 * thread rebuilds its string map (32k entries for Llama-2: milliseconds, against ~0.2 s to parse and
 * build from the file).
 */
export interface SharedCharBpe {
  kind: "char";
  pairs: PairTableData;
  tokens: PackedTokens;
  unkId: number | undefined;
  byteFallback: boolean;
  fuseUnk: boolean;
  prefix: string;
  suffix: string;
  /** See {@link splitsAtWordStarts}. */
  wordStarts: boolean;
}

/** SentencePiece's word-start mark (a space after the Metaspace / Replace normalizers). */
const WORD_START = 0x2581; // ▁

/**
 * Whether a char-level model may encode each word (a run of ▁ plus what follows up to the next ▁)
 * on its own, with exactly the ids of encoding the whole piece: true when no vocab token has a
 * character other than ▁ followed by ▁ (so no merge result can span the start of a word), ▁ is itself
 * a token (so unknown characters on both sides of a word start cannot fuse into one unk), and no
 * continuing-subword prefix or end-of-word suffix makes a symbol depend on its place in the piece.
 * Llama-2-style files have no pre-tokenizer, so each normalized segment reaches the model whole: a
 * heap merge over thousands of symbols, where words are short pieces the cache remembers.
 */
function splitsAtWordStarts(ids: ReadonlyMap<string, number>, prefix: string, suffix: string): boolean {
  if (prefix !== "" || suffix !== "" || !ids.has(String.fromCharCode(WORD_START))) return false;
  for (const token of ids.keys()) {
    for (let i = 1; i < token.length; i++) if (token.charCodeAt(i) === WORD_START && token.charCodeAt(i - 1) !== WORD_START) return false;
  }
  return true;
}

/** The tables a BPE model shares with threads (`Model.shareTables`). */
export type SharedBpe = SharedByteBpe | SharedCharBpe;

export function createBpeModel(json: BpeJson, byteLevel: boolean, file: string): Model {
  if (json.dropout !== undefined && json.dropout !== null && json.dropout > 0) {
    throw new VocabFormatError("BPE dropout is not supported (encoding would not be deterministic)", { file });
  }
  // a Map, not the JSON object: faster lookups, and "constructor" or "__proto__" are only tokens
  const ids = new Map<string, number>();
  const idToToken: string[] = [];
  const vocabJson = json.vocab;
  for (const tok in vocabJson) {
    const id = vocabJson[tok]!;
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new VocabFormatError(`token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; ids must be non-negative integers`, { file, field: "model.vocab" });
    }
    ids.set(tok, id);
    idToToken[id] = tok;
  }
  const pairs = pairsFromMerges(json, ids, file);
  const unkId = json.unk_token == null ? undefined : ids.get(json.unk_token);
  if (byteLevel) {
    const other = new Map<string, number>();
    const tokens: Array<Uint8Array | undefined> = [];
    for (let id = 0; id < idToToken.length; id++) {
      const t = idToToken[id];
      const bytes = t === undefined ? undefined : unicodeToByte(t);
      if (t !== undefined && (bytes === undefined || bytes.length === 0)) other.set(t, id);
      tokens[id] = bytes;
    }
    return byteLevelBpeModel({ kind: "byte", vocab: new ByteVocab(tokens), pairs, vocabSize: idToToken.length, unkId, ignoreMerges: json.ignore_merges === true, other });
  }
  if (json.unk_token != null && unkId === undefined) {
    throw new VocabFormatError(`unk_token "${json.unk_token}" is not in the vocab`, { file, field: "model.unk_token" });
  }
  const prefix = json.continuing_subword_prefix ?? "";
  const suffix = json.end_of_word_suffix ?? "";
  return charLevelBpeModel({
    kind: "char",
    pairs,
    tokens: tokensById(idToToken),
    unkId,
    byteFallback: json.byte_fallback === true,
    fuseUnk: json.fuse_unk === true,
    prefix,
    suffix,
    wordStarts: splitsAtWordStarts(ids, prefix, suffix),
    ids,
  });
}

type ByteLevelTables = Omit<SharedByteBpe, "vocab" | "pairs"> & { vocab: ByteVocab | ByteVocabData; pairs: PairTable | PairTableData };
type CharLevelTables = Omit<SharedCharBpe, "pairs" | "tokens"> & { pairs: PairTable | PairTableData; tokens: (string | null)[] | PackedTokens; ids?: ReadonlyMap<string, number> };

/**
 * The byte-level model over its tables: token strings are looked up through their bytes (no
 * 100k-entry string maps, so a worker thread built on shared tables holds nothing per token).
 * `shareTables()` moves the model onto SharedArrayBuffer copies and returns them.
 */
export function byteLevelBpeModel(t: ByteLevelTables): Model {
  let vocab = t.vocab instanceof ByteVocab ? t.vocab : new ByteVocab(t.vocab);
  let pairs = t.pairs instanceof PairTable ? t.pairs : new PairTable(t.pairs);
  let encoder = new ByteBpeEncoder(vocab, pairs, t.ignoreMerges);
  let shared: SharedByteBpe | undefined = t.vocab instanceof ByteVocab ? undefined : (t as SharedByteBpe);
  const otherById = new Map<number, string>();
  for (const [s, id] of t.other) otherById.set(id, s);
  return {
    vocabSize: t.vocabSize,
    unkId: t.unkId,
    encodePiece: (piece, out, pos) => encoder.encode(piece, 0, piece.length, out, pos),
    encodeSpan: (text, units, start, end, out, pos) => encoder.encodeUnits(text, units, start, end, out, pos),
    tokenToId(token) {
      const id = t.other.get(token);
      if (id !== undefined) return id;
      const bytes = unicodeToByte(token);
      const found = bytes === undefined || bytes.length === 0 ? -1 : vocab.find(bytes, 0, bytes.length);
      return found < 0 ? undefined : found;
    },
    idToToken: (id) => (vocab.has(id) ? byteToUnicode(vocab.bytes(id)) : otherById.get(id)),
    tokenByteLength: (id) => (vocab.has(id) ? vocab.byteLength(id) : -1),
    copyTokenBytes: (id, out, at) => vocab.copyBytes(id, out, at),
    shareTables() {
      if (shared === undefined) {
        shared = { kind: "byte", vocab: vocab.sharedData(), pairs: pairs.sharedData(), vocabSize: t.vocabSize, unkId: t.unkId, ignoreMerges: t.ignoreMerges, other: t.other };
        vocab = new ByteVocab(shared.vocab);
        pairs = new PairTable(shared.pairs);
        encoder = new ByteBpeEncoder(vocab, pairs, t.ignoreMerges);
      }
      return shared;
    },
  };
}

/**
 * The char-level model over its tables (built from the file, or another thread's shared copy).
 * `shareTables()` moves the pair table onto a SharedArrayBuffer and returns the tables.
 */
export function charLevelBpeModel(t: CharLevelTables): Model {
  let pairs = t.pairs instanceof PairTable ? t.pairs : new PairTable(t.pairs);
  const tokens = Array.isArray(t.tokens) ? t.tokens : unpackTokens(t.tokens);
  const ids = t.ids ?? idsOfTokens(tokens);
  let encodePiece = charLevelEncoder(t, ids, pairs);
  let shared: SharedCharBpe | undefined = t.pairs instanceof PairTable ? undefined : (t as SharedCharBpe);
  return {
    vocabSize: tokens.length,
    unkId: t.unkId,
    tokenToId: (s: string) => ids.get(s),
    idToToken: (id: number) => tokens[id] ?? undefined,
    encodePiece: (piece, out, pos) => encodePiece(piece, out, pos),
    shareTables() {
      if (shared === undefined) {
        const { kind, unkId, byteFallback, fuseUnk, prefix, suffix, wordStarts } = t;
        shared = { kind, pairs: pairs.sharedData(), tokens: packTokens(tokens), unkId, byteFallback, fuseUnk, prefix, suffix, wordStarts };
        pairs = new PairTable(shared.pairs);
        encodePiece = charLevelEncoder(t, ids, pairs);
      }
      return shared;
    },
  };
}

function charLevelEncoder(t: Omit<CharLevelTables, "pairs">, vocab: ReadonlyMap<string, number>, pairs: PairTable): Model["encodePiece"] {
  const { byteFallback, fuseUnk, prefix, suffix, unkId, wordStarts } = t;
  const byteTokens = new Int32Array(256).fill(-1);
  if (byteFallback) {
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      if (id !== undefined) byteTokens[b] = id;
    }
  }
  // ids of the single-unit tokens, so most symbols need no one-character string and Map lookup
  // (only when no prefix or suffix changes a character's key)
  const plain = prefix === "" && suffix === "";
  const unitIds = new Int32Array(plain ? 0x10000 : 0).fill(-1);
  if (plain) for (const [token, id] of vocab) if (token.length === 1) unitIds[token.charCodeAt(0)] = id;
  const merger = new BpeMerger(pairs);
  const cache = new PieceCache();
  const utf8 = new Uint8Array(4);
  const key = new Int32Array(PACKED_WORDS);
  const textUnits = new TextUnits();

  /** The ids of `text[start, end)` as one piece. */
  const encodeRange = (text: string, start: number, end: number, out: Uint32Array, pos: number): number => {
    const cacheable = end - start <= MAX_CACHED_PIECE;
    const units = cacheable ? textUnits.of(text) : undefined;
    const hash = units !== undefined ? hashUnitsPacked(units, start, end, key) : 0;
    if (units !== undefined) {
      const n = cache.copyTo(units, start, end, hash, key, out, pos);
      if (n >= 0) return pos + n;
    }
    const sym = merger.symbols((end - start) * 4);
    let n = 0;
    let lastWasUnk = false;
    let i = start;
    while (i < end) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      let id: number | undefined;
      if (plain && w === 1) {
        id = unitIds[c]!;
        if (id < 0) id = undefined;
      } else {
        let key = text.slice(i, i + w);
        if (i > start && prefix) key = prefix + key;
        if (i + w >= end && suffix) key += suffix;
        id = vocab.get(key);
      }
      i += w;
      if (id !== undefined) {
        sym[n++] = id;
        lastWasUnk = false;
        continue;
      }
      if (byteFallback) {
        const nb = utf8EncodeRange(text, i - w, i, utf8, 0);
        let ok = true;
        for (let k = 0; k < nb; k++) if (byteTokens[utf8[k]!] === -1) ok = false;
        if (ok) {
          for (let k = 0; k < nb; k++) sym[n++] = byteTokens[utf8[k]!]!;
          lastWasUnk = false;
          continue;
        }
      }
      if (unkId === undefined) continue; // HF drops characters it cannot represent when there is no unk.
      if (fuseUnk && lastWasUnk) continue;
      sym[n++] = unkId;
      lastWasUnk = true;
    }
    const stop = merger.merge(n, out, pos);
    if (units !== undefined) cache.put(units, start, end, out, pos, stop - pos);
    return stop;
  };

  const encodePiece = (piece: string, out: Uint32Array, pos: number): number => {
    if (!wordStarts) return encodeRange(piece, 0, piece.length, out, pos);
    // word by word (see splitsAtWordStarts): the same ids, from short cached pieces
    let start = 0;
    for (let i = 1; i < piece.length; i++) {
      if (piece.charCodeAt(i) === WORD_START && piece.charCodeAt(i - 1) !== WORD_START) {
        pos = encodeRange(piece, start, i, out, pos);
        start = i;
      }
    }
    return encodeRange(piece, start, piece.length, out, pos);
  };
  return encodePiece;
}
