/**
 * Chat rendering and loss masks with a byte-level stand-in tokenizer: the trained tokens decode to
 * exactly the assistant contents plus end-of-turn, whatever the template does around them.
 */
import { describe, expect, it } from "vitest";
import { ChatTemplateError } from "../../src/errors.js";
import { builtinTemplate, chatTemplate, encodeChat, encodePromptCompletion, renderChat, templateFromConfig, type ChatMessage } from "../../src/sft/index.js";
import type { Tokenizer } from "../../src/tokenizers/types.js";
import { byteTokenizer } from "./fake-tokenizer.js";

const SPECIALS = ["<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "</s>"];
const tok = byteTokenizer(SPECIALS, "</s>");

const convo: ChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "assistant" }, // content equal to a role name must not confuse the locator
  { role: "assistant", content: "  Hello <|im_end|> there.  " },
  { role: "user", content: "Again?" },
  { role: "assistant", content: "Yes." },
];

/** Decode each maximal run of trained tokens. */
function trainedRuns(t: Tokenizer, ids: Uint32Array, mask: Uint8Array): string[] {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= ids.length; i++) {
    const on = i < ids.length && mask[i] === 1;
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      runs.push(t.decode(ids.subarray(start, i)));
      start = -1;
    }
  }
  return runs;
}

describe("renderChat", () => {
  it("splits the rendered text into scaffolding and exact message contents", () => {
    for (const t of [builtinTemplate("chatml"), builtinTemplate("llama3")]) {
      const { text, parts } = renderChat(t, convo);
      expect(parts.map((p) => p.text).join("")).toBe(text);
      const contents = parts.filter((p) => p.message >= 0);
      expect(contents.map((p) => p.message)).toEqual([0, 1, 2, 3, 4]);
      const trims = t.name === "llama3";
      contents.forEach((p) => expect(p.text).toBe(trims ? convo[p.message]!.content.trim() : convo[p.message]!.content));
    }
  });

  it("a skeleton reused across conversations with the same roles gives what rendering both afresh gives", () => {
    // variables (even none) turn the reuse off: the reference is the render without it
    const convos: ChatMessage[][] = [];
    for (let i = 0; i < 40; i++) {
      const n = 1 + (i % 4);
      convos.push(Array.from({ length: n }, (_, k) => ({ role: k % 2 === 0 ? "user" : "assistant", content: `${"  ".repeat(k % 2)}turn ${k} of ${i} é${"!".repeat(i % 3)}` })));
    }
    for (const t of [builtinTemplate("chatml"), builtinTemplate("llama3")]) {
      for (const c of convos) {
        for (const addGenerationPrompt of [false, true]) {
          expect(renderChat(t, c, { addGenerationPrompt })).toEqual(renderChat(t, c, { addGenerationPrompt, variables: {} }));
        }
      }
    }
  });

  it("the built-in templates are rendered once per sequence of roles, and give what the Jinja render of each conversation gives", () => {
    const hard = ["", " ", "\n\t x \n", "\uFEFF\u00A0lead and trail\u3000\u2028", "{{ messages }} {% if x %}", "<|im_end|>\n<|im_start|>user", "<|eot_id|>", "é漢😀\r\n", "a".repeat(5000)];
    const roles = ["system", "user", "assistant", "tool", "ipython"];
    for (const [name, contents] of [
      ["chatml", "verbatim"],
      ["llama3", "trimmed"],
    ] as const) {
      const t = builtinTemplate(name, { bosToken: "<B>" });
      expect(t.contents).toBe(contents);
      expect(chatTemplate("same source", t.source).contents).toBe(contents); // known by its source, not its name
      let renders = 0;
      const compiled = t.compiled;
      const counted = { ...t, compiled: { render: (...a: Parameters<typeof compiled.render>) => (renders++, compiled.render(...a)) } as typeof compiled };
      const reference = { ...t, contents: undefined }; // walks Jinja's render of each conversation
      const sequences = new Set<string>();
      for (let i = 0; i < 120; i++) {
        const n = 1 + (i % 5);
        const c: ChatMessage[] = Array.from({ length: n }, (_, k) => ({ role: roles[(i + k * 3) % (k === 0 ? 5 : 3)]!, content: hard[(i * 7 + k) % hard.length]! + (k % 2 === 0 ? ` turn ${k}` : "") }));
        const addGenerationPrompt = i % 4 === 1;
        sequences.add(`${addGenerationPrompt}:${c.map((m) => m.role).join(",")}`);
        const got = renderChat(counted, c, { addGenerationPrompt });
        expect(got).toEqual(renderChat(reference, c, { addGenerationPrompt }));
        expect(got.text).toBe(compiled.render({ messages: c, bos_token: "<B>", eos_token: t.eosToken, add_generation_prompt: addGenerationPrompt }));
      }
      expect(renders).toBe(sequences.size); // one skeleton per sequence, no render per conversation
      // variables may change anything: rendered for real
      renderChat(counted, [{ role: "user", content: "hi" }], { variables: { x: 1 } });
      expect(renders).toBe(sequences.size + 2);
    }
  });

  it("messages with fields besides role and content (which a template may show) are rendered afresh each time", () => {
    const named = chatTemplate("named", "{% for m in messages %}[{{ m['role'] }}{% if m['name'] %}:{{ m['name'] }}{% endif %}]{{ m['content'] }}{% endfor %}");
    const plain = [{ role: "user", content: "hi" }];
    expect(renderChat(named, plain).text).toBe("[user]hi");
    expect(renderChat(named, [{ role: "user", content: "hi", name: "ann" } as ChatMessage]).text).toBe("[user:ann]hi");
    expect(renderChat(named, [{ role: "user", content: "hi", name: "bob" } as ChatMessage]).parts).toEqual([
      { text: "[user:bob]", message: -1 },
      { text: "hi", message: 0 },
    ]);
  });

  it("a template whose scaffolding depends on content is still refused when its skeleton is reused", () => {
    const branchy = chatTemplate("branchy", "{% for m in messages %}{% if m['content'] == 'x' %}<X>{% endif %}{{ m['content'] }}|{% endfor %}");
    expect(renderChat(branchy, [{ role: "user", content: "a" }]).text).toBe("a|");
    expect(() => renderChat(branchy, [{ role: "user", content: "x" }])).toThrow(ChatTemplateError);
  });

  it("rejects templates that rewrite content", () => {
    const upper = chatTemplate("upper", "{% for m in messages %}{{ m['content'] | upper }}{% endfor %}");
    expect(() => renderChat(upper, [{ role: "user", content: "hi" }])).toThrow(ChatTemplateError);
  });
});

describe("encodeChat", () => {
  it("trains exactly the assistant contents plus end-of-turn (ChatML, Llama-3)", () => {
    const cases = [
      { t: builtinTemplate("chatml"), eot: "<|im_end|>", trim: false },
      { t: builtinTemplate("llama3"), eot: "<|eot_id|>", trim: true },
    ];
    for (const { t, eot, trim } of cases) {
      const { ids, lossMask } = encodeChat(tok, t, convo);
      const want = convo.filter((m) => m.role === "assistant").map((m) => (trim ? m.content.trim() : m.content) + eot);
      expect(trainedRuns(tok, ids, lossMask!)).toEqual(want);
      expect(tok.decode(ids)).toBe(renderChat(t, convo).text);
      // user text "<|im_end|>" stays text; the template's <|im_end|> is the special id
      const eotId = tok.specialTokens.get(eot)!;
      expect(ids.filter((x) => x === eotId).length).toBe(convo.length);
    }
  });

  it("uses a tokenizer_config.json chat_template and detects its end-of-turn special token", () => {
    const cfg = {
      bos_token: { content: "<|begin_of_text|>" },
      eos_token: "</s>",
      chat_template: [
        { name: "tool_use", template: "x" },
        {
          name: "default",
          template:
            "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] + '<|eot_id|>' }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}",
        },
      ],
    };
    const t = templateFromConfig(cfg);
    expect(t.endOfTurn).toBeUndefined();
    const { ids, lossMask } = encodeChat(tok, t, convo);
    expect(trainedRuns(tok, ids, lossMask!)).toEqual(["  Hello <|im_end|> there.  <|eot_id|>", "Yes.<|eot_id|>"]);
    expect(tok.decode(ids.subarray(0, 1))).toBe("<|begin_of_text|>");
    expect(() => templateFromConfig({ chat_template: [{ name: "tool_use", template: "x" }] })).toThrow(/no chat_template named "default"/);
  });

  it("can train other roles and fails loudly when nothing is trainable", () => {
    const { ids, lossMask } = encodeChat(tok, builtinTemplate("chatml"), convo, { trainRoles: ["user"] });
    expect(trainedRuns(tok, ids, lossMask!)).toEqual(["assistant<|im_end|>", "Again?<|im_end|>"]);
    expect(() => encodeChat(tok, builtinTemplate("chatml"), [{ role: "user", content: "hi" }])).toThrow(/no assistant content/);
  });
});

describe("encodePromptCompletion", () => {
  it("trains only the completion plus EOS (plain) or plus end-of-turn (chat)", () => {
    const pair = { prompt: "2+2?", completion: "4" };
    const plain = encodePromptCompletion(tok, pair);
    expect(tok.decode(plain.ids)).toBe("2+2?\n4</s>");
    expect(trainedRuns(tok, plain.ids, plain.lossMask!)).toEqual(["4</s>"]);
    const chat = encodePromptCompletion(tok, pair, { template: builtinTemplate("chatml") });
    expect(trainedRuns(tok, chat.ids, chat.lossMask!)).toEqual(["4<|im_end|>"]);
  });
});

describe("templateFromConfig files", () => {
  it("reads chat_template.jinja beside a config without chat_template, and names a missing one", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "tokpack-sft-"));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: "</s>" }));
    expect(() => templateFromConfig(join(dir, "tokenizer_config.json"))).toThrow(/no chat_template/);
    writeFileSync(join(dir, "chat_template.jinja"), "{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}");
    const t = templateFromConfig(join(dir, "tokenizer_config.json"));
    const { ids, lossMask } = encodeChat(tok, t, [
      { role: "user", content: "hi" },
      { role: "assistant", content: "yo" },
    ]);
    expect(tok.decode(ids)).toBe("[user]hi</s>[assistant]yo</s>");
    expect(trainedRuns(tok, ids, lossMask!)).toEqual(["yo</s>"]);
  });

  it("refuses content holding the reserved locator character", () => {
    expect(() => renderChat(builtinTemplate("chatml"), [{ role: "user", content: "a\uE000b" }])).toThrow(/U\+E000/);
  });
});

describe("encodeDocument", () => {
  it("dispatches chat, prompt/completion and text documents", async () => {
    const { encodeDocument } = await import("../../src/sft/index.js");
    const chat = encodeDocument(tok, { messages: convo }, { template: builtinTemplate("chatml") })!;
    expect(chat).toEqual(encodeChat(tok, builtinTemplate("chatml"), convo));
    const pc = encodeDocument(tok, { prompt: "q", completion: "a" })!;
    expect(trainedRuns(tok, pc.ids, pc.lossMask!)).toEqual(["a</s>"]);
    const text = encodeDocument(tok, { text: "plain" })!;
    expect(tok.decode(text.ids)).toBe("plain</s>");
    expect(text.lossMask).toBeUndefined();
    expect(encodeDocument(tok, { text: null })).toBeUndefined();
    expect(() => encodeDocument(tok, { messages: convo })).toThrow(/need a template/);
  });
});
