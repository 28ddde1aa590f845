/** CLI error handling: messages name the file, line and field; exit 1 for bad input, 2 for usage. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputLines, runCli, tempDir } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("encode errors", () => {
  it("malformed JSON names the file and line; documents before it are printed", async () => {
    const file = join(tmp.dir, "bad.jsonl");
    writeFileSync(file, '{"text":"a"}\n\n{"text": "b"\n{"text":"c"}\n');
    const r = await runCli(["encode", "-t", "cl100k_base", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}, line 3`);
    expect(r.stderr).toContain("malformed JSON");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without TOKPACK_DEBUG
    expect(outputLines(r.stdout)).toEqual(["[64]"]);
  });

  it("TOKPACK_DEBUG=1 adds the stack trace", async () => {
    const file = join(tmp.dir, "bad2.jsonl");
    writeFileSync(file, "nope\n");
    const r = await runCli(["encode", "-t", "cl100k_base", file], undefined, { TOKPACK_DEBUG: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it("a missing field lists the fields the record has", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base"], '{"question":"q","answer":"a"}\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("<stdin>, line 1");
    expect(r.stderr).toContain('no field "text"');
    expect(r.stderr).toContain('"question", "answer"');
    expect(r.stderr).toContain("--field");
  });

  it("a non-string field says what it is", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base", "--field", "n"], '{"n":"ok"}\n{"n":42}\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('<stdin>, line 2, field "n": expected a string, got a number');
  });

  it("a line that is JSON but not an object is rejected", async () => {
    const r = await runCli(["encode", "-t", "cl100k_base"], '["text"]\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("<stdin>, line 1: malformed JSON (expected a JSON object, got an array)");
  });

  it("an unknown tokenizer spec exits non-zero naming the spec", async () => {
    const r = await runCli(["encode", "--tokenizer", "no-such-tokenizer-xyz"], '{"text":"a"}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no-such-tokenizer-xyz");
    expect(r.stdout).toBe("");
  });

  it("a missing input file is named", async () => {
    const missing = join(tmp.dir, "missing.jsonl");
    const r = await runCli(["encode", "-t", "cl100k_base", missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain("no such file");
  });
});

describe("usage errors exit with status 2", () => {
  const cases: [string, string[], string][] = [
    ["missing --tokenizer", ["encode", "x.jsonl"], "--tokenizer is required"],
    ["unknown option", ["encode", "-t", "cl100k_base", "--bogus"], "--bogus"],
    ["stdin with other sources", ["encode", "-t", "cl100k_base", "a.jsonl", "-"], "cannot be combined"],
    ["--lines with --field", ["encode", "-t", "cl100k_base", "--lines", "--field", "q"], "exclude each other"],
    ["unknown command", ["frobnicate"], 'unknown command "frobnicate"'],
    ["inspect without text", ["inspect", "-t", "cl100k_base"], "give the text"],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain("--help");
    });
  }

  it("no command prints the usage to stderr", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: tokpack");
  });
});
