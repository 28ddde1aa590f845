/**
 * `tokpack encode` against the references, run as users run it (the built binary, files and stdin):
 * tiktoken encodings vs `tiktoken`'s `encode_ordinary` (so `<|endoftext|>` in code.jsonl is plain
 * text), tokenizer.json files vs HF `tokenizers`' `encode` with and without special tokens.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasShared, sharedPath } from "../shared.js";
import {
  hfIds,
  json,
  jsonlTexts,
  lenmlTokenizerJson,
  llama3WithoutIgnoreMerges,
  mismatches,
  outputLines,
  root,
  runCli,
  tempDir,
  tiktokenOrdinary,
} from "./helpers.js";

const sample = join(root, "examples", "data", "sample.jsonl");
let tmp: ReturnType<typeof tempDir>;
/** Llama-3 as the npm `tokenizers` reference can read it (see llama3WithoutIgnoreMerges). */
let llama3: string;
beforeAll(() => {
  tmp = tempDir();
  llama3 = llama3WithoutIgnoreMerges(tmp.dir);
});
afterAll(() => tmp.cleanup());

describe.runIf(hasShared())("encode on the shared corpora", () => {
  for (const corpus of ["en", "code", "multi"]) {
    it(`cl100k_base on ${corpus}.jsonl equals tiktoken encode_ordinary, document by document`, async () => {
      const file = sharedPath("data", "text", `${corpus}.jsonl`);
      const ref = await tiktokenOrdinary("cl100k_base");
      const expected = jsonlTexts(file).map((t) => json(ref(t)));
      const r = await runCli(["encode", "--tokenizer", "cl100k_base", file]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = outputLines(r.stdout);
      expect(lines.length).toBe(expected.length);
      expect(mismatches(lines, expected)).toEqual([]);
    });
  }

  it("o200k_base on multi.jsonl read from stdin equals tiktoken encode_ordinary", async () => {
    const file = sharedPath("data", "text", "multi.jsonl");
    const ref = await tiktokenOrdinary("o200k_base");
    const texts = jsonlTexts(file).slice(0, 100);
    const input = texts.map((text) => JSON.stringify({ text })).join("\n") + "\n";
    const r = await runCli(["encode", "-t", "o200k_base", "-"], input);
    expect(r.code).toBe(0);
    expect(mismatches(outputLines(r.stdout), texts.map((t) => json(ref(t))))).toEqual([]);
  });

  for (const corpus of ["en", "code", "multi"]) {
    it(`Llama-3 tokenizer.json (merge path) on the first 12 documents of ${corpus}.jsonl equals HF tokenizers`, async () => {
      const texts = jsonlTexts(sharedPath("data", "text", `${corpus}.jsonl`)).slice(0, 12);
      const file = join(tmp.dir, `${corpus}-head.jsonl`);
      writeFileSync(file, texts.map((text) => JSON.stringify({ text })).join("\n") + "\n");
      const tj = llama3;
      const r = await runCli(["encode", "--tokenizer", tj, file]);
      expect(r.stderr).toBe("");
      expect(mismatches(outputLines(r.stdout), await hfIds(tj, texts))).toEqual([]);
    });
  }
});

describe("encode on the bundled sample", () => {
  const texts = jsonlTexts(sample);

  it("Llama-2 tokenizer.json: default adds the post-processor's <s>, --no-special does not (as HF)", async () => {
    const tj = lenmlTokenizerJson("llama2");
    const withSpecial = await runCli(["encode", "-t", tj, sample]);
    const without = await runCli(["encode", "-t", tj, "--no-special", sample]);
    expect(withSpecial.code).toBe(0);
    expect(outputLines(withSpecial.stdout)).toEqual(await hfIds(tj, texts, true));
    expect(outputLines(without.stdout)).toEqual(await hfIds(tj, texts, false));
    expect(outputLines(withSpecial.stdout)).not.toEqual(outputLines(without.stdout));
  });

  it("Llama-3 tokenizer.json (merge path) with and without --no-special equals HF tokenizers", async () => {
    const tj = llama3;
    expect(outputLines((await runCli(["encode", "-t", tj, sample])).stdout)).toEqual(await hfIds(tj, texts, true));
    expect(outputLines((await runCli(["encode", "-t", tj, "--no-special", sample])).stdout)).toEqual(
      await hfIds(tj, texts, false),
    );
  });

  it("--field picks another field; blank JSONL lines and CRLF endings are skipped", async () => {
    const file = join(tmp.dir, "fields.jsonl");
    writeFileSync(file, '{"q":"hello world","text":"x"}\r\n\r\n   \n{"q":"<|endoftext|> stays text"}\r\n');
    const ref = await tiktokenOrdinary("cl100k_base");
    const r = await runCli(["encode", "-t", "cl100k_base", "--field", "q", file]);
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual([json(ref("hello world")), json(ref("<|endoftext|> stays text"))]);
  });

  it("--lines: every line is a document, empty lines included, from stdin", async () => {
    const ref = await tiktokenOrdinary("cl100k_base");
    const lines = ["first line", "", "  indented {not json}", "東京 👩‍💻"];
    const r = await runCli(["encode", "-t", "cl100k_base", "--lines"], lines.join("\n") + "\n");
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual(lines.map((l) => json(ref(l))));
  });

  it("a 2 MB single-line document (far beyond the initial id buffer) matches tiktoken", async () => {
    const ref = await tiktokenOrdinary("cl100k_base");
    const text = "naïve café 東京 1234567 ".repeat(90_000) + "!".repeat(5000);
    const file = join(tmp.dir, "long.jsonl");
    writeFileSync(file, JSON.stringify({ text: "short" }) + "\n" + JSON.stringify({ text }) + "\n");
    const r = await runCli(["encode", "-t", "cl100k_base", file]);
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual([json(ref("short")), json(ref(text))]);
  });

  it("a UTF-8 BOM at the start of the file is not part of the first record", async () => {
    const file = join(tmp.dir, "bom.jsonl");
    writeFileSync(file, '\uFEFF{"text":"bom"}\n');
    const ref = await tiktokenOrdinary("cl100k_base");
    expect(outputLines((await runCli(["encode", "-t", "cl100k_base", file])).stdout)).toEqual([json(ref("bom"))]);
  });
});
