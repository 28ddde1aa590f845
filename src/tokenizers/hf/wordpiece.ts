/**
 * HF `WordPiece` model and decoder (BERT and friends), as `tokenizers` (Rust) runs them.
 *
 * Model: greedy longest-match-first over each pre-tokenized word. From the word's start, take the
 * longest prefix in the vocab; every later sub-word is looked up with `continuing_subword_prefix`
 * ("##") in front. If some position matches nothing, the whole word is one `unk`; a word longer
 * than `max_input_chars_per_word` code points is `unk` without trying.
 *
 * Performance notes: candidates are never longer than the longest vocab token (18 UTF-16 units for
 * bert-base-uncased), so the search starts there instead of at the word's end — exact, and it
 * turns the worst case from O(word²) lookups into O(word · 18). Ids go to a reused scratch array
 * first (a bad word rewinds to a single unk) and are then copied to the caller's buffer.
 */
import { VocabFormatError } from "../../errors.js";
import { ensureSpace, type Decoder, type Model } from "./components.js";

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

const CACHE_LIMIT = 1 << 14;
/** Words up to this many UTF-16 units are cached (longer ones are rare and mostly unk). */
const CACHE_MAX_WORD = 48;

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
  let maxTokenLength = 0;
  for (const token in json.vocab) {
    const id = json.vocab[token];
    if (!Number.isInteger(id) || id! < 0 || id! > 0xffffffff) {
      fail("model.vocab", `token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids must be non-negative integers`);
    }
    vocab.set(token, id!);
    idToToken[id!] = token;
    if (token.length > maxTokenLength) maxTokenLength = token.length;
  }
  if (typeof json.unk_token !== "string") fail("model.unk_token", "WordPiece needs an unk_token string");
  const unkId = vocab.get(json.unk_token);
  if (unkId === undefined) {
    fail("model.unk_token", `unk_token ${JSON.stringify(json.unk_token)} is not in the vocab (add it, or fix the name)`);
  }
  const unk = unkId!;

  let scratch = new Uint32Array(256);
  const cache = new Map<string, Uint32Array>();

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
      let end = Math.min(len, start + maxTokenLength);
      // Never cut a surrogate pair.
      if (end < len && isLow(word.charCodeAt(end)) && isHigh(word.charCodeAt(end - 1))) end--;
      let id: number | undefined;
      while (end > start) {
        const sub = word.slice(start, end);
        id = vocab.get(start > 0 ? prefix + sub : sub);
        if (id !== undefined) break;
        // Drop the last character (a code point, as Rust's `chars().last()`).
        end -= end - 2 >= start && isLow(word.charCodeAt(end - 1)) && isHigh(word.charCodeAt(end - 2)) ? 2 : 1;
      }
      if (id === undefined) {
        scratch[0] = unk;
        return 1;
      }
      scratch[n++] = id;
      start = end;
    }
    return n;
  };

  return {
    vocabSize: idToToken.length,
    unkId: unk,
    tokenToId: (token) => vocab.get(token),
    idToToken: (id) => idToToken[id],
    encodePiece(piece: string, out: Uint32Array, pos: number): number {
      const hit = cache.get(piece);
      if (hit !== undefined) {
        ensureSpace(out, pos, hit.length);
        for (let k = 0; k < hit.length; k++) out[pos + k] = hit[k]!;
        return pos + hit.length;
      }
      const n = tokenize(piece);
      ensureSpace(out, pos, n);
      for (let k = 0; k < n; k++) out[pos + k] = scratch[k]!;
      // Only words that split into several ids are worth caching: a whole-word hit is one lookup.
      if (n > 1 && piece.length <= CACHE_MAX_WORD) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(piece, scratch.slice(0, n));
      }
      return pos + n;
    },
  };
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
