/** The Tokenizer contract: caller-owned buffers, RangeError on overflow, bad specs and vocab files. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { get_encoding } from "tiktoken";
import { BufferTooSmallError, encodeIntoGrowable } from "../../src/tokenizers/grow.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { TokenizerSpecError, VocabFormatError } from "../../src/errors.js";
import { packageFile } from "./reference.js";

const dir = mkdtempSync(join(tmpdir(), "tokpack-api-"));
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("encodeInto", () => {
  it("writes into the caller's buffer at an offset and returns the count", async () => {
    const tok = await loadTokenizer("cl100k_base");
    const ref = get_encoding("cl100k_base");
    const text = "Hello, world! Packing documents into rows.";
    const expected = ref.encode_ordinary(text);
    ref.free();
    const out = new Uint32Array(100).fill(7);
    const n = tok.encodeInto(text, out, 10);
    expect(n).toBe(expected.length);
    expect(Array.from(out.subarray(10, 10 + n))).toEqual(Array.from(expected));
    expect(out[9]).toBe(7);
    expect(out[10 + n]).toBe(7);
  });

  it("throws a RangeError naming the needed size instead of truncating", async () => {
    for (const spec of ["o200k_base", "gpt2", "llama-2"]) {
      const tok = await loadTokenizer(spec);
      const text = "A sentence long enough to need more than four tokens, surely.";
      const need = tok.countTokens(text);
      expect(need).toBeGreaterThan(4);
      const out = new Uint32Array(4);
      expect(() => tok.encodeInto(text, out)).toThrow(RangeError);
      expect(() => tok.encodeInto(text, out)).toThrow(new RegExp(`needs ${need} ids`));
      expect(() => tok.encodeInto(text, new Uint32Array(need + 2), 3)).toThrow(RangeError);
      expect(tok.encodeInto(text, new Uint32Array(need + 2), 2)).toBe(need);
    }
  });

  it("the overflow error carries the needed size; encodeIntoGrowable grows, keeping what is before the offset", async () => {
    const tok = await loadTokenizer("cl100k_base");
    const ref = get_encoding("cl100k_base");
    const text = "A sentence long enough to need more than four tokens, surely.";
    const expected = Array.from(ref.encode_ordinary(text));
    ref.free();
    const err = (() => {
      try {
        tok.encodeInto(text, new Uint32Array(6), 2);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BufferTooSmallError);
    expect((err as BufferTooSmallError).needed).toBe(2 + expected.length);
    const small = Uint32Array.of(41, 42, 0, 0);
    const r = encodeIntoGrowable(tok, text, small, 2);
    expect(r.buf).not.toBe(small);
    expect(r.count).toBe(expected.length);
    expect(Array.from(r.buf.subarray(0, 2 + r.count))).toEqual([41, 42, ...expected]);
    const roomy = new Uint32Array(100);
    expect(encodeIntoGrowable(tok, text, roomy, 0).buf).toBe(roomy);
  });

  it("rejects an offset outside the buffer", async () => {
    const tok = await loadTokenizer("cl100k_base");
    expect(() => tok.encodeInto("x", new Uint32Array(2), 3)).toThrow(RangeError);
  });

  it("encodes any JavaScript string, including invalid UTF-16, without throwing", async () => {
    const strings = ["\uD800", "\uDFFF\uD800", "a\uDC00\uD83D", "\u0000", "\uFFFF\uFFFE", String.fromCharCode(...Array.from({ length: 2048 }, (_, i) => (i * 7919) % 65536))];
    for (const spec of ["cl100k_base", "o200k_base", "gpt2", "llama-2", "llama-3"]) {
      const tok = await loadTokenizer(spec);
      for (const s of strings) expect(tok.encode(s).length).toBeGreaterThan(0);
    }
  });
});

describe("token metadata", () => {
  it("exposes vocab size, special ids and token lookups consistent with the reference", async () => {
    const tok = await loadTokenizer("cl100k_base");
    // cl100k's largest id is its last special token, <|endofprompt|>.
    const json = JSON.parse(readFileSync(packageFile("tiktoken", "encoders", "cl100k_base.json"), "utf8")) as {
      special_tokens: Record<string, number>;
    };
    expect(tok.vocabSize).toBe(Math.max(...Object.values(json.special_tokens)) + 1);
    expect(tok.special.eos).toBe(tok.tokenToId("<|endoftext|>"));
    const llama2 = await loadTokenizer("llama-2");
    expect(llama2.idToToken(llama2.special.bos!)).toBe("<s>");
    expect(llama2.idToToken(llama2.special.eos!)).toBe("</s>");
    const id = llama2.tokenToId("\u2581Hello");
    expect(id).toBeDefined();
    expect(llama2.idToToken(id!)).toBe("\u2581Hello");
  });
});

describe("bad specs and vocab files", () => {
  it("names an unknown spec and lists the built-in names", async () => {
    await expect(loadTokenizer("no-such-tokenizer")).rejects.toThrow(TokenizerSpecError);
    await expect(loadTokenizer("no-such-tokenizer")).rejects.toThrow(/no-such-tokenizer.*cl100k_base/);
  });

  it("names a directory passed as a spec", async () => {
    await expect(loadTokenizer(dir)).rejects.toThrow(/is a directory/);
  });

  it("names the file and what is wrong with invalid JSON", async () => {
    const p = file("broken.json", "{ not json");
    await expect(loadTokenizer(p)).rejects.toThrow(VocabFormatError);
    await expect(loadTokenizer(p)).rejects.toThrow(new RegExp(`${p}.*not valid JSON`));
  });

  it("rejects JSON that is not a tokenizer.json, and unsupported models", async () => {
    await expect(loadTokenizer(file("other.json", '{"a": 1}'))).rejects.toThrow(/no "model" field/);
    await expect(loadTokenizer(file("unigram.json", '{"model": {"type": "Unigram", "vocab": []}}'))).rejects.toThrow(
      /unsupported model type "Unigram"/,
    );
  });

  it("names the merge that refers to a missing token", async () => {
    const json = { model: { type: "BPE", vocab: { a: 0, b: 1 }, merges: ["a b"] } };
    await expect(loadTokenizer(file("bad-merge.json", JSON.stringify(json)))).rejects.toThrow(/merge 0 \("a b"\)/);
  });

  it("names the line of a malformed .tiktoken file", async () => {
    const good = readFileSync(packageFile("tiktoken", "encoders", "r50k_base.json"), "utf8");
    expect(good.length).toBeGreaterThan(0);
    const p = join(mkdtempSync(join(tmpdir(), "tokpack-tt-")), "r50k_base.tiktoken");
    writeFileSync(p, "IQ== 0\nIg== 1\nnot-base64!! x\n");
    await expect(loadTokenizer(p)).rejects.toThrow(new RegExp(`${p}, line 3`));
  });

  it("asks for an encoding name when a .tiktoken file's name does not say it", async () => {
    const p = file("mystery.tiktoken", "IQ== 0\n");
    await expect(loadTokenizer(p)).rejects.toThrow(/cannot tell which encoding/);
  });

  it("loads a real .tiktoken rank file and matches tiktoken", async () => {
    // Write cl100k's ranks in the .tiktoken format OpenAI publishes, from the reference's own data.
    const json = JSON.parse(readFileSync(packageFile("tiktoken", "encoders", "cl100k_base.json"), "utf8")) as { bpe_ranks: string };
    const lines: string[] = [];
    for (const line of json.bpe_ranks.split("\n")) {
      const parts = line.split(" ");
      if (parts.length < 3) continue;
      const first = Number(parts[1]);
      for (let k = 2; k < parts.length; k++) lines.push(`${parts[k]} ${first + k - 2}`);
    }
    const p = join(mkdtempSync(join(tmpdir(), "tokpack-tt-")), "cl100k_base.tiktoken");
    writeFileSync(p, lines.join("\n") + "\n");
    const tok = await loadTokenizer(p);
    const ref = get_encoding("cl100k_base");
    const text = "Rank files load exactly: Grüße, 世界, 🤗 and    spaces.\n";
    expect(Array.from(tok.encode(text))).toEqual(Array.from(ref.encode_ordinary(text)));
    ref.free();
  });
});
