/**
 * `tokpack encode` reads through the loaders: compressed JSONL and parquet (with the shared loader
 * flags, e.g. --template), run as users run it (the built binary) and compared with `tiktoken`
 * encoding the same texts; `--allowed-special` against tiktoken's `encode(text, allowed, [])`;
 * file:line in errors from a compressed file and from stdin; --skip-bad; the usage rules around
 * stdin and --lines.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { get_encoding, type Tiktoken } from "tiktoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lit, sql } from "../loaders/helpers.js";
import { hasShared, sharedPath } from "../shared.js";
import { json, jsonlTexts, mismatches, outputLines, root, runCli, tempDir } from "./helpers.js";

const sample = join(root, "examples", "data", "sample.jsonl");
const problems = join(root, "examples", "data", "word-problems.jsonl");

let tmp: ReturnType<typeof tempDir>;
let cl100k: Tiktoken;
beforeAll(() => {
  tmp = tempDir();
  cl100k = get_encoding("cl100k_base");
});
afterAll(() => {
  cl100k.free();
  tmp.cleanup();
});

/** Texts with what tends to break readers and tokenizers: CRLF and newlines inside strings, a special-token string, astral characters, a long one. */
const EDGE = [
  "line one\r\nline two\n\n",
  "<|endoftext|> is plain text by default",
  "東京 👩‍💻 naïve café ﷺ",
  "",
  "   leading and trailing spaces   ",
  "x".repeat(70_000) + " y",
];

function writeJsonlGz(file: string, texts: string[]): void {
  writeFileSync(file, gzipSync(Buffer.from(texts.map((text) => JSON.stringify({ text })).join("\n") + "\n")));
}

describe("encode reads through the loaders", () => {
  it(".jsonl.gz equals tiktoken encode_ordinary, document by document", async () => {
    const texts = [...jsonlTexts(sample), ...jsonlTexts(problems, "question"), ...EDGE];
    if (hasShared()) texts.push(...jsonlTexts(sharedPath("data", "text", "multi.jsonl")).slice(0, 300));
    const file = join(tmp.dir, "docs.jsonl.gz");
    writeJsonlGz(file, texts);
    const r = await runCli(["encode", "-t", "cl100k_base", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = outputLines(r.stdout);
    expect(lines.length).toBe(texts.length);
    expect(mismatches(lines, texts.map((t) => json(cl100k.encode_ordinary(t))))).toEqual([]);
  });

  it("parquet (several row groups) with --field and --template equals tiktoken on the same texts", async () => {
    const file = join(tmp.dir, "problems.parquet");
    await sql(
      `COPY (SELECT question, answer FROM read_json(${lit(problems)}, format = 'newline_delimited', columns = {question: 'VARCHAR', answer: 'VARCHAR'}))
       TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 128)`,
    );
    const rows = readFileSync(problems, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { question: string; answer: string });
    expect((await sql(`SELECT count(*)::INTEGER AS n FROM read_parquet(${lit(file)})`))[0]!["n"]).toBe(rows.length);

    const byField = await runCli(["encode", "-t", "cl100k_base", "--field", "answer", file]);
    expect(byField.stderr).toBe("");
    expect(mismatches(outputLines(byField.stdout), rows.map((r) => json(cl100k.encode_ordinary(r.answer))))).toEqual([]);

    const byTemplate = await runCli(["encode", "-t", "cl100k_base", "--template", "Q: {question}\\nA: {answer}", file]);
    expect(byTemplate.code).toBe(0);
    const want = rows.map((r) => json(cl100k.encode_ordinary(`Q: ${r.question}\nA: ${r.answer}`)));
    expect(outputLines(byTemplate.stdout).length).toBe(rows.length);
    expect(mismatches(outputLines(byTemplate.stdout), want)).toEqual([]);
  });

  it("a glob over several files reads them in sorted order", async () => {
    const texts = jsonlTexts(sample);
    writeJsonlGz(join(tmp.dir, "part-1.jsonl.gz"), texts.slice(10));
    writeFileSync(join(tmp.dir, "part-0.jsonl"), texts.slice(0, 10).map((text) => JSON.stringify({ text })).join("\n"));
    const r = await runCli(["encode", "-t", "cl100k_base", join(tmp.dir, "part-*")]);
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual(texts.map((t) => json(cl100k.encode_ordinary(t))));
  });
});

describe("--allowed-special", () => {
  const text = "a<|endoftext|>b <|fim_prefix|>c<|endoftext|>";

  it("all = tiktoken encode(text, 'all'); none and the default = encode_ordinary", async () => {
    const input = JSON.stringify({ text }) + "\n";
    const all = await runCli(["encode", "-t", "cl100k_base", "--allowed-special", "all", "-"], input);
    expect(all.code).toBe(0);
    expect(outputLines(all.stdout)).toEqual([json(cl100k.encode(text, "all"))]);
    expect(outputLines(all.stdout)[0]).toContain(",100257,"); // <|endoftext|> as one special id
    const ordinary = json(cl100k.encode_ordinary(text));
    expect(outputLines((await runCli(["encode", "-t", "cl100k_base", "-"], input)).stdout)).toEqual([ordinary]);
    expect(outputLines((await runCli(["encode", "-t", "cl100k_base", "--allowed-special", "none"], input)).stdout)).toEqual([ordinary]);
  });

  it("a list = tiktoken encode(text, list, []): the others stay plain text (on --lines input too)", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base", "--lines", "--allowed-special", "<|endoftext|>"], text + "\n");
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual([json(cl100k.encode(text, ["<|endoftext|>"], []))]);
  });

  it("a name that is not a special token of the tokenizer is a usage error listing the known ones", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base", "--allowed-special", "<|endoftext|>,<|eot|>"], "{}\n");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"<|eot|>" is not a special token');
    expect(r.stderr).toContain('"<|endoftext|>"');
  });
});

describe("errors name the file and line", () => {
  it("a malformed line in a .jsonl.gz: file and line; the documents before it are printed", async () => {
    const file = join(tmp.dir, "bad.jsonl.gz");
    writeFileSync(file, gzipSync('{"text":"a"}\n\n{"text":"b"}\n{"text": "c"\n{"text":"d"}\n'));
    const r = await runCli(["encode", "-t", "cl100k_base", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}, line 4: malformed JSON`);
    expect(outputLines(r.stdout)).toEqual([json(cl100k.encode_ordinary("a")), json(cl100k.encode_ordinary("b"))]);
  });

  it("a malformed line on stdin: <stdin> and line", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base"], '{"text":"a"}\nnot json\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("<stdin>, line 2: malformed JSON");
    expect(outputLines(r.stdout)).toEqual([json(cl100k.encode_ordinary("a"))]);
  });

  it("a null text is an error, not a missing output line", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base"], '{"text":"a"}\n{"text":null}\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<stdin>, line 2, field "text"');
  });

  it("--skip-bad skips malformed and null records and says how many", async () => {
    const file = join(tmp.dir, "skip.jsonl");
    writeFileSync(file, '{"text":"a"}\nnope\n{"text":null}\n{"other":1}\n{"text":"b"}\n');
    for (const args of [[file], ["-"]]) {
      const r = await runCli(["encode", "-t", "cl100k_base", "--skip-bad", ...args], readFileSync(file, "utf8"));
      expect(r.code).toBe(0);
      expect(outputLines(r.stdout)).toEqual([json(cl100k.encode_ordinary("a")), json(cl100k.encode_ordinary("b"))]);
      expect(r.stderr).toContain("skipped 3 malformed records");
    }
  });
});

describe("--lines and stdin usage", () => {
  it("--lines reads several files, every line a document", async () => {
    const a = join(tmp.dir, "a.txt");
    const b = join(tmp.dir, "b.txt");
    writeFileSync(a, "\uFEFFfirst\n\nthird {not json}\n");
    writeFileSync(b, "fourth\r\nfifth");
    const r = await runCli(["encode", "-t", "cl100k_base", "--lines", a, b]);
    expect(r.code).toBe(0);
    expect(outputLines(r.stdout)).toEqual(["first", "", "third {not json}", "fourth", "fifth"].map((t) => json(cl100k.encode_ordinary(t))));
  });

  const cases: [string, string[], string][] = [
    ["--lines with --template", ["--lines", "--template", "{a}"], "--lines and --template exclude each other"],
    ["sharding stdin", ["--rank", "0", "--world-size", "2", "-"], "--rank needs file sources"],
    ["shuffling stdin", ["--shuffle-seed", "1"], "--shuffle-seed needs file sources"],
  ];
  for (const [name, args, message] of cases) {
    it(`usage error: ${name}`, async () => {
      const r = await runCli(["encode", "-t", "cl100k_base", ...args], '{"text":"a"}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    });
  }

  it("--help lists the loader options and --allowed-special", async () => {
    const r = await runCli(["encode", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--template", "--skip-bad", "--allowed-special", "--lines", "parquet"]) expect(r.stdout).toContain(flag);
  });
});
