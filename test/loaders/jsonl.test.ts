import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputFormatError, MissingFieldError, SourceError } from "../../src/errors.js";
import { createLoader } from "../../loaders/index.js";
import { hasShared, sharedPath } from "../shared.js";
import { collect, lit, referenceJsonl, sql, tempDir } from "./helpers.js";

const shared = hasShared();
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe.skipIf(!shared)("jsonl on the shared corpora", () => {
  it("gsm8k with a template equals an independent parse of every line", async () => {
    const path = sharedPath("data/jsonl/gsm8k/train.jsonl");
    const ref = referenceJsonl(readFileSync(path, "utf8"));
    expect(ref.length).toBe(7473);
    const docs = await collect(createLoader({ sources: path, document: { template: "{question}\n\n{answer}" } }));
    expect(docs.map((d) => d.text)).toEqual(ref.map((r) => `${r["question"]}\n\n${r["answer"]}`));
    expect(docs[0]!.source).toEqual({ file: path, shard: 0, line: 1 });
    expect(docs[7472]!.source.line).toBe(7473);
  });

  it("t0 prompt/completion files (a folder) become pairs, empty files give nothing", async () => {
    const dir = sharedPath("data/jsonl/t0");
    const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort();
    const ref = files.flatMap((f) => referenceJsonl(readFileSync(join(dir, f), "utf8")));
    const docs = await collect(createLoader({ sources: dir }));
    expect(docs.length).toBe(ref.length);
    expect(docs.map((d) => [d.prompt, d.completion])).toEqual(ref.map((r) => [r["prompt"], r["completion"]]));
    const byField = await collect(createLoader({ sources: join(dir, "*.jsonl"), document: { field: "completion" } }));
    expect(byField.map((d) => d.text)).toEqual(ref.map((r) => r["completion"]));
  });

  it("ShareGPT JSON array: conversations normalized to messages (human→user, gpt→assistant)", async () => {
    const path = sharedPath("data/jsonl/chat/sharegpt_dummy_conversation.json");
    const ref = JSON.parse(readFileSync(path, "utf8")) as { conversations: { from: string; value: string }[] }[];
    const roles: Record<string, string> = { human: "user", gpt: "assistant", system: "system" };
    const docs = await collect(createLoader({ sources: path }));
    expect(docs.length).toBe(ref.length);
    expect(docs.map((d) => d.messages)).toEqual(ref.map((r) => r.conversations.map((m) => ({ role: roles[m.from], content: m.value }))));
    expect(docs[3]!.source).toEqual({ file: path, shard: 0, row: 3 });
  });
});

describe("jsonl codecs and shapes", () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, text: `doc ${i} ${"é∑😀".repeat(i % 50)}`, meta: { lang: i % 2 ? "en" : "fr" } }));

  it("gzip (node zlib) and zstd (written by duckdb) read back every record", async () => {
    const plain = join(tmp.dir, "src.jsonl");
    writeFileSync(plain, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    writeFileSync(join(tmp.dir, "a.jsonl.gz"), gzipSync(readFileSync(plain)));
    await sql(`COPY (SELECT * FROM read_json(${lit(plain)})) TO ${lit(join(tmp.dir, "b.jsonl.zst"))} (FORMAT json, COMPRESSION zstd)`);
    await sql(`COPY (SELECT * FROM read_json(${lit(plain)})) TO ${lit(join(tmp.dir, "c.jsonl.gz"))} (FORMAT json, COMPRESSION gzip)`);
    for (const f of ["a.jsonl.gz", "b.jsonl.zst", "c.jsonl.gz"]) {
      const docs = await collect(createLoader({ sources: join(tmp.dir, f) }));
      expect(docs.map((d) => d.text), f).toEqual(rows.map((r) => r.text));
    }
    const nested = await collect(createLoader({ sources: join(tmp.dir, "b.jsonl.zst"), document: { field: "meta.lang" } }));
    expect(nested.map((d) => d.text)).toEqual(rows.map((r) => r.meta.lang));
  });

  it("truncated .gz and .zst fail with a SourceError naming the file and byte offset", async () => {
    for (const f of ["a.jsonl.gz", "b.jsonl.zst"]) {
      const full = readFileSync(join(tmp.dir, f));
      const cut = join(tmp.dir, `cut-${f}`);
      writeFileSync(cut, full.subarray(0, Math.floor(full.length * 0.6)));
      const err = await collect(createLoader({ sources: cut })).catch((e: unknown) => e);
      expect(err, f).toBeInstanceOf(SourceError);
      const e = err as SourceError;
      expect(e.context.file).toBe(cut);
      expect(e.context.offset).toBe(Math.floor(full.length * 0.6));
      expect(e.message).toContain(cut);
    }
  });

  it("zstd: concatenated frames read as one stream; corrupt bytes or a non-zstd file fail naming the file", async () => {
    const one = readFileSync(join(tmp.dir, "b.jsonl.zst"));
    const two = join(tmp.dir, "two-frames.jsonl.zst");
    writeFileSync(two, Buffer.concat([one, one]));
    const docs = await collect(createLoader({ sources: two }));
    expect(docs.map((d) => d.text)).toEqual([...rows, ...rows].map((r) => r.text));
    const bad = Buffer.from(one);
    for (let i = Math.floor(bad.length / 3); i < Math.floor(bad.length / 3) + 64; i++) bad[i] = bad[i]! ^ 0x5a;
    const notZstd = Buffer.from('{"text":"plain json, not zstd"}\n'.repeat(500));
    for (const [name, bytes] of [["flipped.jsonl.zst", bad], ["plain.jsonl.zst", notZstd]] as const) {
      const path = join(tmp.dir, name);
      writeFileSync(path, bytes);
      const err = await collect(createLoader({ sources: path })).catch((e: unknown) => e);
      // corrupt input may fail in the decoder (SourceError) or decode to broken JSON (InputFormatError)
      expect(err instanceof SourceError || err instanceof InputFormatError, `${name}: ${String(err)}`).toBe(true);
      expect((err as SourceError).context.file).toBe(path);
    }
  });

  it("a 50 MB line, CRLF endings, a BOM, blank lines and a missing final newline", async () => {
    const big = "x".repeat(50 * 1024 * 1024);
    const path = join(tmp.dir, "big.jsonl");
    writeFileSync(path, `\ufeff{"text":"a"}\r\n\r\n{"text":"${big}"}\n   \n{"text":"end"}`);
    const docs = await collect(createLoader({ sources: path }));
    expect(docs.map((d) => d.text?.length)).toEqual([1, big.length, 3]);
    expect(docs.map((d) => d.source.line)).toEqual([1, 3, 5]);
  });

  it("malformed line → InputFormatError naming file:line; skipBad counts instead", async () => {
    const path = join(tmp.dir, "bad.jsonl");
    writeFileSync(path, '{"text":"a"}\n{"text":"b"}\n{"text": nope}\n{"text":"c"}\n[1,2]\n{"text":"d"}\n');
    const err = (await collect(createLoader({ sources: path })).catch((e: unknown) => e)) as InputFormatError;
    expect(err).toBeInstanceOf(InputFormatError);
    expect(err.context).toMatchObject({ file: path, line: 3 });
    expect(err.message).toContain(`${path}, line 3`);
    const loader = createLoader({ sources: path, skipBad: true });
    expect((await collect(loader)).map((d) => d.text)).toEqual(["a", "b", "c", "d"]);
    expect(loader.stats()).toMatchObject({ docs: 4, skippedBad: 2 });
  });

  it("skipBad also counts records of the wrong shape (missing field, non-string text)", async () => {
    const path = join(tmp.dir, "shape.jsonl");
    const lines = ['{"text":"a"}', '{"body":"x"}', '{"text":7}', '{"text":"b"}', '{"text":["c"]}'];
    writeFileSync(path, lines.join("\n"));
    const loader = createLoader({ sources: path, skipBad: true });
    expect((await collect(loader)).map((d) => d.text)).toEqual(["a", "b"]);
    expect(loader.stats()).toMatchObject({ docs: 2, skippedBad: 3 });
  });

  it("malformed line in a piece that starts mid-file still names the absolute line", async () => {
    const path = join(tmp.dir, "bad-late.jsonl");
    const lines = Array.from({ length: 2000 }, (_, i) => (i === 1500 ? "{oops" : JSON.stringify({ text: `t${i}` })));
    writeFileSync(path, lines.join("\n"));
    const errs = await Promise.all(
      [0, 1, 2, 3].map((rank) => collect(createLoader({ sources: path, rank, worldSize: 4, pieceBytes: 4096 })).then(() => null, (e: unknown) => e)),
    );
    const hits = errs.filter((e) => e !== null) as InputFormatError[];
    expect(hits.length).toBe(1);
    expect(hits[0]!.context).toMatchObject({ file: path, line: 1501 });
  });

  it("missing field lists the fields that exist; non-string field is a clear error", async () => {
    const path = join(tmp.dir, "fields.jsonl");
    writeFileSync(path, '{"question":"q","answer":42,"n":null}\n');
    const e1 = (await collect(createLoader({ sources: path })).catch((e: unknown) => e)) as MissingFieldError;
    expect(e1).toBeInstanceOf(MissingFieldError);
    expect(e1.available).toEqual(["question", "answer", "n"]);
    expect(e1.message).toMatch(/"question", "answer", "n"/);
    expect(e1.context).toMatchObject({ file: path, line: 1, field: "text" });
    const e2 = (await collect(createLoader({ sources: path, document: { field: "answer" } })).catch((e: unknown) => e)) as InputFormatError;
    expect(e2).toBeInstanceOf(InputFormatError);
    expect(e2.message).toMatch(/expected a string, got a number/);
    expect(e2.context.field).toBe("answer");
    const kept = await collect(createLoader({ sources: path, document: { field: "n", onNull: "keep" } }));
    expect(kept.map((d) => d.text)).toEqual([null]);
    const skipped = createLoader({ sources: path, document: { field: "n" } });
    expect(await collect(skipped)).toEqual([]);
    expect(skipped.stats().skippedNull).toBe(1);
    const tpl = await collect(createLoader({ sources: path, document: { template: "Q: {question} A: {answer} {{x}}" } }));
    expect(tpl.map((d) => d.text)).toEqual(["Q: q A: 42 {x}"]);
  });

  it("OpenAI-style messages pass through; unknown formats and missing files are SourceErrors", async () => {
    const path = join(tmp.dir, "chat.jsonl");
    const msgs = [{ role: "system", content: "s" }, { role: "user", content: "u" }, { role: "assistant", content: "a" }];
    writeFileSync(path, JSON.stringify({ messages: msgs }) + "\n");
    expect((await collect(createLoader({ sources: path })))[0]!.messages).toEqual(msgs);
    await expect(collect(createLoader({ sources: join(tmp.dir, "nope.jsonl") }))).rejects.toBeInstanceOf(SourceError);
    writeFileSync(join(tmp.dir, "x.csv"), "a,b\n");
    await expect(collect(createLoader({ sources: join(tmp.dir, "x.csv") }))).rejects.toThrow(/unknown format/);
  });
});
