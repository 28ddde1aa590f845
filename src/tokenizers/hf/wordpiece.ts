/**
 * HF `WordPiece` model and decoder (BERT and friends), as `tokenizers` (Rust) runs them.
 *
 * Model: greedy longest-match-first over each pre-tokenized word. From the word's start, take the
 * longest prefix in the vocab; every later sub-word is looked up with `continuing_subword_prefix`
 * ("##") in front. If some position matches nothing, the whole word is one `unk`; a word longer
 * than `max_input_chars_per_word` code points is `unk` without trying.
 *
 * Performance notes: Rust tries word[start..end] for end = len, len-1, … with a hash lookup (and a
 * new string) each; the first hit is the longest vocab entry that prefixes word[start..]. A trie
 * walk finds the same entry in one forward pass with no strings. Model time on shared multi.jsonl
 * (8 MB): 1.33 s with Map lookups of slices (already capped at the longest token's length, 18
 * units) → 0.37 s with the trie; en.jsonl 0.36 → 0.16 s. No per-word cache: a hit costs one walk.
 * Ids go to a reused scratch array first (a bad word rewinds to a single unk), then to `out`.
 */
import { VocabFormatError } from "../../errors.js";
import { sharedCopy } from "../bpe/shared-array.js";
import { ensureSpace, idsOfTokens, packTokens, tokensById, unpackTokens, type Decoder, type Model, type PackedTokens } from "./components.js";

/** The `model` object of a WordPiece tokenizer.json. */
export interface WordPieceJson {
  type: "WordPiece";
  vocab: Record<string, number>;
  unk_token: string;
  /** @default "##" */
  continuing_subword_prefix?: string;
  /** @default 100 */
  max_input_chars_per_word?: number;
}

/**
 * Builds a WordPiece model. `where` (the file) is named in every error: a vocab that is not an
 * object of non-negative integer ids, an unk_token missing from the vocab, bad options.
 */
export function createWordPieceModel(json: WordPieceJson, where: string): Model {
  const fail = (field: string, problem: string): never => {
    throw new VocabFormatError(problem, { file: where, field });
  };
  if (typeof json.vocab !== "object" || json.vocab === null || Array.isArray(json.vocab)) {
    fail("model.vocab", "WordPiece vocab must be an object mapping token → id");
  }
  const prefix = json.continuing_subword_prefix ?? "##";
  if (typeof prefix !== "string") fail("model.continuing_subword_prefix", `must be a string, got ${JSON.stringify(prefix)}`);
  const maxChars = json.max_input_chars_per_word ?? 100;
  if (!Number.isInteger(maxChars) || maxChars < 0) {
    fail("model.max_input_chars_per_word", `must be a non-negative integer, got ${JSON.stringify(maxChars)}`);
  }

  const vocab = new Map<string, number>();
  const idToToken: string[] = [];
  for (const token in json.vocab) {
    const id = json.vocab[token];
    if (!Number.isInteger(id) || id! < 0 || id! > 0x7fffffff) {
      fail("model.vocab", `token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids must be non-negative integers`);
    }
    vocab.set(token, id!);
    idToToken[id!] = token;
  }
  // HF's WordPiece builder defaults a missing unk_token to "[UNK]".
  const unkToken: unknown = json.unk_token ?? "[UNK]";
  if (typeof unkToken !== "string") fail("model.unk_token", `must be a string, got ${JSON.stringify(unkToken)}`);
  const unkId = vocab.get(unkToken as string);
  if (unkId === undefined) {
    fail("model.unk_token", `unk_token ${JSON.stringify(unkToken)} is not in the vocab (add it, or fix the name)`);
  }
  return wordPieceModel({ kind: "wordpiece", trie: new Trie(vocab), tokens: tokensById(idToToken), unkId: unkId!, prefix, maxChars, vocab });
}

/**
 * A WordPiece model's tables for worker threads: the trie's arrays on SharedArrayBuffers, and the
 * vocab strings by id (null for an id the vocab skips) from which each thread rebuilds its string map.
 */
export interface SharedWordPiece {
  kind: "wordpiece";
  trie: TrieData;
  tokens: PackedTokens;
  unkId: number;
  prefix: string;
  maxChars: number;
}

type WordPieceTables = Omit<SharedWordPiece, "trie" | "tokens"> & { trie: Trie | TrieData; tokens: (string | null)[] | PackedTokens; vocab?: ReadonlyMap<string, number> };

/**
 * The model over its tables (built from the file, or another thread's shared copy). `shareTables()`
 * moves the trie onto SharedArrayBuffers and returns the tables.
 */
export function wordPieceModel(t: WordPieceTables): Model {
  const { prefix, maxChars, unkId: unk } = t;
  const tokens = Array.isArray(t.tokens) ? t.tokens : unpackTokens(t.tokens);
  const vocab = t.vocab ?? idsOfTokens(tokens);
  const trie = t.trie instanceof Trie ? t.trie : new Trie(t.trie);
  let shared: SharedWordPiece | undefined = t.trie instanceof Trie ? undefined : (t as SharedWordPiece);
  // Sub-words after the first are looked up as prefix + sub-word: walk the prefix once, start there.
  const continuation = trie.walk(trie.root, prefix);

  let scratch = new Uint32Array(256);

  /** Writes the ids of `word` to `scratch`; returns how many. */
  const tokenize = (word: string): number => {
    const len = word.length;
    // Code points ≤ UTF-16 units, so the exact count is only needed when the length is over.
    if (len > maxChars && countCodePoints(word) > maxChars) {
      scratch[0] = unk;
      return 1;
    }
    if (scratch.length < len) scratch = new Uint32Array(len * 2);
    let n = 0;
    let start = 0;
    while (start < len) {
      // Longest vocab entry that is a prefix of word[start..]: follow the trie as far as it goes.
      let node = start === 0 ? trie.root : continuation;
      let id = -1;
      let end = start;
      for (let i = start; i < len && node >= 0; i++) {
        node = trie.child(node, word.charCodeAt(i));
        // A match ends on a code point boundary (Rust slices by chars), never inside a surrogate pair.
        if (node >= 0 && trie.ids[node]! >= 0 && !(i + 1 < len && isLow(word.charCodeAt(i + 1)) && isHigh(word.charCodeAt(i)))) {
          id = trie.ids[node]!;
          end = i + 1;
        }
      }
      if (id < 0) {
        scratch[0] = unk;
        return 1;
      }
      scratch[n++] = id;
      start = end;
    }
    return n;
  };

  return {
    vocabSize: tokens.length,
    unkId: unk,
    tokenToId: (token) => vocab.get(token),
    idToToken: (id) => tokens[id] ?? undefined,
    encodePiece(piece: string, out: Uint32Array, pos: number): number {
      const n = tokenize(piece);
      ensureSpace(out, pos, n);
      for (let k = 0; k < n; k++) out[pos + k] = scratch[k]!;
      return pos + n;
    },
    shareTables(): SharedWordPiece {
      if (shared === undefined) {
        // the trie moves onto the shared copies itself: its node ids (and `continuation`) stay
        shared = { kind: "wordpiece", trie: trie.sharedData(), tokens: packTokens(tokens), unkId: unk, prefix, maxChars };
      }
      return shared;
    },
  };
}

/** A trie's arrays and node count, as `Trie.sharedData()` hands them out. */
export interface TrieData {
  ids: Int32Array;
  parents: Int32Array;
  units: Int32Array;
  children: Int32Array;
  nodes: number;
}

/**
 * A character trie of the vocab over UTF-16 units, its edges in one open-addressing hash table of
 * (parent, unit) → child. Node ids index `ids` (the token id ending there, or -1). No strings are
 * built while encoding.
 */
class Trie {
  readonly root = 0;
  ids: Int32Array;
  private parents: Int32Array;
  private units: Int32Array;
  private children: Int32Array;
  private mask: number;
  private nodes = 1;

  /** Built from a vocab, or over the arrays of `sharedData()` (used in place, not copied). */
  constructor(vocab: ReadonlyMap<string, number> | TrieData) {
    if (!(vocab instanceof Map)) {
      const d = vocab as TrieData;
      this.ids = d.ids;
      this.parents = d.parents;
      this.units = d.units;
      this.children = d.children;
      this.mask = d.parents.length - 1;
      this.nodes = d.nodes;
      return;
    }
    let units = 1;
    for (const token of vocab.keys()) units += token.length;
    // ≤ one edge per unit; load factor ≤ 1/2.
    let capacity = 16;
    while (capacity < units * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.parents = new Int32Array(capacity).fill(-1);
    this.units = new Int32Array(capacity);
    this.children = new Int32Array(capacity);
    this.ids = new Int32Array(units).fill(-1);
    for (const [token, id] of vocab) {
      let node = this.root;
      for (let i = 0; i < token.length; i++) node = this.childOrAdd(node, token.charCodeAt(i));
      this.ids[node] = id;
    }
  }

  private slot(parent: number, unit: number): number {
    let h = (Math.imul(parent, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & this.mask;
    while (this.parents[h] !== -1 && (this.parents[h] !== parent || this.units[h] !== unit)) h = (h + 1) & this.mask;
    return h;
  }

  private childOrAdd(parent: number, unit: number): number {
    const h = this.slot(parent, unit);
    if (this.parents[h] === -1) {
      this.parents[h] = parent;
      this.units[h] = unit;
      this.children[h] = this.nodes++;
    }
    return this.children[h]!;
  }

  /** The child of `parent` along `unit`, or -1. */
  child(parent: number, unit: number): number {
    const h = this.slot(parent, unit);
    return this.parents[h] === -1 ? -1 : this.children[h]!;
  }

  /** Its arrays on SharedArrayBuffers; the trie reads those copies from then on. */
  sharedData(): TrieData {
    this.ids = sharedCopy(this.ids);
    this.parents = sharedCopy(this.parents);
    this.units = sharedCopy(this.units);
    this.children = sharedCopy(this.children);
    return { ids: this.ids, parents: this.parents, units: this.units, children: this.children, nodes: this.nodes };
  }

  /** The node reached from `node` along `text`, or -1. */
  walk(node: number, text: string): number {
    for (let i = 0; i < text.length && node >= 0; i++) node = this.child(node, text.charCodeAt(i));
    return node;
  }
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    if (isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) i++;
  }
  return n;
}

/** HF `cleanup` (the old `clean_up_tokenization_spaces`), in HF's order. */
const CLEANUP: ReadonlyArray<readonly [string, string]> = [
  [" .", "."],
  [" ?", "?"],
  [" !", "!"],
  [" ,", ","],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" do not", " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

/** Undoes the spaces a word-level tokenizer puts before punctuation and English contractions. */
export function cleanupTokenizationSpaces(text: string): string {
  if (!text.includes(" ")) return text;
  for (const [from, to] of CLEANUP) text = text.replaceAll(from, to);
  return text;
}

/**
 * HF `WordPiece` decoder. Per token (the reference's `decode_chain`): every token but the first
 * loses a leading `prefix` or else gets a leading space; then, with `cleanup`, each token on its
 * own is cleaned up — so "do" "not" stays "do not", as in `tokenizers`.
 */
export function createWordPieceDecoder(cfg: {
  /** @default "##" */
  prefix?: string;
  /** @default true */
  cleanup?: boolean;
}): Decoder {
  const prefix = cfg.prefix ?? "##";
  const cleanup = cfg.cleanup !== false;
  return {
    decodeChain(tokens: string[]): string[] {
      const out: string[] = new Array<string>(tokens.length);
      for (let i = 0; i < tokens.length; i++) {
        let t = tokens[i]!;
        if (i > 0) t = t.startsWith(prefix) ? t.slice(prefix.length) : " " + t;
        out[i] = cleanup ? cleanupTokenizationSpaces(t) : t;
      }
      return out;
    },
  };
}
