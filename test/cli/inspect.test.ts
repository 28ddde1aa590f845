/** `tokpack inspect`, `--help`, `--version` and `demo` on the built binary. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { json, root, runCli, tiktokenOrdinary } from "./helpers.js";

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
    expect(json(ref("from stdin"))).toMatch(/^\[/);
  });

  it("a lossy tokenizer (bert-base-uncased lowercases and strips accents) reports the difference", async () => {
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

  it("demo encodes the bundled sample with cl100k_base", async () => {
    const r = await runCli(["demo"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sample.jsonl");
    expect(r.stdout).toContain("20 documents");
  });
});
