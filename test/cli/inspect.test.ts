/** `tokpack inspect`, `--help`, `--version` and `demo` on the built binary. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get_encoding } from "tiktoken";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { lenmlTokenizerJson, root, runCli, tiktokenOrdinary } from "./helpers.js";

/** bert-base-uncased needs the WordPiece model (lead's work in progress): probe instead of failing. */
const bertReady = await loadTokenizer("bert-base-uncased").then(
  () => true,
  () => false,
);

describe("inspect", () => {
  it("shows bracketed boundaries when not a TTY, the ids, the count and the round-trip", async () => {
    const text = "Hello wörld 東京\n<|endoftext|>";
    const ref = await tiktokenOrdinary("cl100k_base");
    const ids = Array.from(ref(text));
    const r = await runCli(["inspect", "--tokenizer", "cl100k_base", text]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b[");
    expect(r.stdout).toContain("tokens: [Hello][ w]");
    // 東 is split across two byte-level tokens: the partial UTF-8 bytes show as \xNN.
    expect(r.stdout).toContain("[ \\xe6\\x9d][\\xb1][京]");
    expect(r.stdout).toContain("\\n"); // the newline is escaped, not printed raw
    expect(r.stdout).toContain(`ids: [${ids.join(", ")}]`);
    expect(r.stdout).toContain(`count: ${ids.length} tokens`);
    expect(r.stdout).toContain("round-trip: ok");
  });

  it("--color colors the tokens alternately with ANSI codes", async () => {
    const r = await runCli(["inspect", "-t", "cl100k_base", "--color", "one two"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\x1b[30;46mone\x1b[0m\x1b[30;43m two\x1b[0m");
  });

  it("reads the text from stdin with -", async () => {
    const ref = await tiktokenOrdinary("o200k_base");
    const r = await runCli(["inspect", "-t", "o200k_base", "-"], "from stdin");
    expect(r.stdout).toContain(`ids: [${Array.from(ref("from stdin")).join(", ")}]`);
  });

  it("a lossy tokenizer (a Lowercase normalizer) reports the difference and the decoded text", async () => {
    const tj = JSON.parse(readFileSync(lenmlTokenizerJson("llama3"), "utf8")) as Record<string, unknown>;
    tj["normalizer"] = { type: "Lowercase" };
    const file = join(mkdtempSync(join(tmpdir(), "tokpack-cli-")), "lower.tokenizer.json");
    writeFileSync(file, JSON.stringify(tj));
    const r = await runCli(["inspect", "-t", file, "Hello World"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("tokens: [hello][ world]");
    expect(r.stdout).toContain("round-trip: differs (lossy tokenizer)");
    expect(r.stdout).toContain('decoded: "hello world"');
  });

  it.skipIf(!bertReady)("bert-base-uncased (lowercases, strips accents) is reported lossy", async () => {
    const r = await runCli(["inspect", "-t", "bert-base-uncased", "Héllo World"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("round-trip: differs (lossy tokenizer)");
  });
});

describe("help, version, demo", () => {
  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("--help lists the commands; encode --help its options", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const c of ["encode", "inspect", "cat", "demo"]) expect(top.stdout).toContain(c);
    const enc = await runCli(["encode", "--help"]);
    expect(enc.code).toBe(0);
    expect(enc.stdout).toContain("--no-special");
  });

  it("demo streams the bundled examples through the loaders and tokenizer (counts equal tiktoken's r50k = GPT-2; its tokenizer.json always matches <|endoftext|>, hence allowed specials)", async () => {
    const r = await runCli(["demo", "--no-train"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const enc = get_encoding("r50k_base");
    try {
      const sample = readFileSync(new URL("../../examples/data/sample.jsonl", import.meta.url), "utf8").split("\n").filter(Boolean);
      const tokens = sample.reduce((n, l) => n + enc.encode((JSON.parse(l) as { text: string }).text, "all").length, 0);
      expect(r.stdout).toContain(`${sample.length} documents, ${tokens} tokens`);
      const problems = readFileSync(new URL("../../examples/data/word-problems.jsonl", import.meta.url), "utf8").split("\n").filter(Boolean);
      const ptokens = problems.reduce((n, l) => {
        const { question, answer } = JSON.parse(l) as { question: string; answer: string };
        return n + enc.encode(`${question}\n${answer}`, "all").length;
      }, 0);
      expect(r.stdout).toContain(`${problems.length} documents, ${ptokens} tokens`);
    } finally {
      enc.free();
    }
  });
});
