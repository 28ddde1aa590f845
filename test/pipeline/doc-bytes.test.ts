/**
 * Documents written into one buffer for a worker (`doc-bytes.ts`) read back as the same documents,
 * and tokenize to the same ids as the originals (lone surrogates, which UTF-8 cannot carry, become
 * U+FFFD, which is what every tokenizer sees of them anyway).
 */
import { describe, expect, it } from "vitest";
import { DocWriter, readDocs } from "../../src/pipeline/doc-bytes.js";
import type { SftDocument } from "../../src/sft/index.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";

const DOCS: SftDocument[] = [
  { text: "plain text" },
  { text: "" },
  { text: null },
  { text: "é漢😀 mixed\nlines\u0000nul" },
  { prompt: "Q: 2+2?", completion: " 4" },
  { prompt: "", completion: "" },
  { messages: [] },
  {
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "こんにちは 😀" },
      { role: "assistant", content: "" },
    ],
  },
  { text: "long ".repeat(50_000) + "漢".repeat(30_000) }, // past the first 64 KiB of the buffer
];

function roundTrip(docs: readonly SftDocument[]): { back: SftDocument[]; writer: DocWriter } {
  const writer = new DocWriter();
  for (const d of docs) writer.add(d);
  return { back: [...readDocs(writer.finish())], writer };
}

describe("DocWriter / readDocs", () => {
  it("read back every kind of document as written, in order", () => {
    const { back, writer } = roundTrip(DOCS);
    expect(back).toEqual(DOCS);
    expect(writer.count).toBe(DOCS.length);
    let chars = 0;
    for (const d of DOCS) for (const s of [d.text ?? "", d.prompt ?? "", d.completion ?? "", ...(d.messages ?? []).flatMap((m) => [m.role, m.content])]) chars += s.length;
    expect(writer.chars).toBe(chars);
  });

  it("an empty chunk is an empty buffer with no documents", () => {
    expect(roundTrip([]).back).toEqual([]);
  });

  it("a lone surrogate becomes U+FFFD, which tokenizes as the original does", async () => {
    const text = "a\ud800b \udc00 c\ud83d";
    const { back } = roundTrip([{ text }]);
    expect(back[0]!.text).toBe("a\ufffdb \ufffd c\ufffd");
    const tok = await loadTokenizer("cl100k_base");
    expect([...tok.encode(back[0]!.text!)]).toEqual([...tok.encode(text)]);
  });

  it("a damaged buffer is an error naming the byte, not a wrong document", () => {
    const writer = new DocWriter();
    writer.add({ text: "x" });
    const buf = new Uint8Array(writer.finish());
    buf[0] = 9;
    expect(() => [...readDocs(buf.buffer)]).toThrow(/unknown tag 9 at byte 0/);
  });
});
