/**
 * `tokpack pack` / `tokpack merge` end to end through the built CLI: packed rows read back equal the
 * in-memory pipeline, the .idx/.bin read independently equal the pipeline's documents, kills at random
 * points resume to the same bytes, and per-rank outputs merge to a single run's bytes.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLoader } from "../../loaders/index.js";
import { openPacked } from "../../src/megatron/index.js";
import { createPipeline } from "../../src/pipeline/index.js";
import { cli, runCli } from "../cli/helpers.js";
import { collect } from "../pipeline/helpers.js";
import { subset, tempDir } from "../pipeline/helpers.js";
import { sharedPath } from "../shared.js";
import { parseIdx, readSeq } from "./indexed.test.js";

const tmp = tempDir("pack");
const gsm = subset(tmp, "gsm.jsonl", ["data", "jsonl", "gsm8k", "train.jsonl"], 2500);
const TEMPLATE = "{question}\\n\\n{answer}";

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** sha256 of every file in an output directory, by name. */
function digest(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, f === "manifest.json" ? "-" : sha(join(dir, f))]));
}

async function pack(args: string[]): Promise<void> {
  const r = await runCli(["pack", ...args]);
  if (r.code !== 0) throw new Error(`pack failed (${r.code}): ${r.stderr}`);
}

/** A small pack of gsm8k (pad rows of 128, one worker) into `out`, checkpointing every `checkpointMs`. */
function smallPackArgs(out: string, checkpointMs: number): string[] {
  return [gsm, "--template", TEMPLATE, "--tokenizer", "gpt2", "--out", out, "--seq-len", "128", "--batch-size", "2", "--packing", "pad", "--workers", "1", "--checkpoint-ms", String(checkpointMs)];
}

/** Runs `pack` and returns how long it took (ms), to time kills against. */
async function timedPack(args: string[]): Promise<number> {
  const t0 = Date.now();
  await pack(args);
  return Date.now() - t0;
}

/** Start a pack run and SIGKILL it after `ms`; resolves once it is gone. */
function killAfter(args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, "pack", ...args], { stdio: "ignore" });
    const t = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe("tokpack pack", () => {
  it("packed rows read back equal the in-memory pipeline; .idx/.bin equal its documents; manifest complete", async () => {
    const out = join(tmp, "rows");
    await pack([gsm, "--template", TEMPLATE, "--tokenizer", "gpt2", "--out", out, "--seq-len", "256", "--batch-size", "4", "--workers", "2"]);
    const docs: number[][] = [];
    const mem = await collect(createPipeline({ sources: [gsm], loader: { document: { template: "{question}\n\n{answer}" } }, tokenizer: "gpt2", seqLen: 256, batchSize: 4, workers: 0, onDocument: (d) => docs.push(Array.from(d.ids)) }));
    const disk = await collect(openPacked(out));
    expect(disk.length).toBe(mem.length);
    expect(disk).toEqual(mem);

    const p = parseIdx(readFileSync(join(out, "data.idx")));
    expect(p.code).toBe(8);
    expect(Number(p.seqs)).toBe(docs.length);
    const bin = readFileSync(join(out, "data.bin"));
    for (const i of [0, 1, 777, docs.length - 1]) expect(readSeq(bin, p, i)).toEqual(docs[i]);
    expect(p.lengths).toEqual(docs.map((d) => d.length));

    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Record<string, any>;
    expect(m["tokenizer"].spec).toBe("gpt2");
    expect(m["tokenizer"].vocabSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m["seqLen"]).toBe(256);
    expect(m["packing"]).toBe("bfd");
    expect(m["sources"]).toEqual([{ path: gsm, bytes: readFileSync(gsm).byteLength, sha256: sha(gsm) }]);
    const tokens = docs.reduce((s, d) => s + d.length, 0);
    expect(m["counts"]).toMatchObject({ documents: docs.length, tokens, rows: p.lengths.length > 0 ? expect.any(Number) : 0, truncated: 0 });
    expect(m["counts"].rows * 256).toBe(tokens + m["counts"].padding);
    expect(m["tokpackVersion"]).toMatch(/^\d+\.\d+\.\d+/);
    // numpy header written from the format text: magic, v1.0, little-endian int32, (rows, L)
    const npy = readFileSync(join(out, "input_ids.npy"));
    expect([...npy.subarray(0, 8)]).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0]);
    const hlen = npy.readUInt16LE(8);
    expect((10 + hlen) % 64).toBe(0);
    expect(npy.subarray(10, 10 + hlen).toString("latin1")).toContain(`'descr': '<i4', 'fortran_order': False, 'shape': (${m["counts"].rows}, 256)`);
    expect(npy.byteLength).toBe(10 + hlen + m["counts"].rows * 256 * 4);
  });

  it("a run killed at random points resumes to the same final bytes", async () => {
    const args = (out: string): string[] => smallPackArgs(out, 20);
    const ref = join(tmp, "ref");
    const full = await timedPack(args(ref));
    const want = digest(ref);
    const out = join(tmp, "killed");
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 3; k++) {
      await killAfter([...args(out), ...(k > 0 ? ["--resume"] : [])], Math.floor(300 + rnd() * Math.max(100, full - 600)));
      if (!existsSync(join(out, "manifest.json"))) {
        // nothing looks complete: final names appear only with the manifest
        for (const f of ["data.bin", "data.idx", "input_ids.npy"]) expect(existsSync(join(out, f))).toBe(false);
      }
    }
    await pack([...args(out), "--resume"]);
    expect(digest(out)).toEqual(want);
    const a = JSON.parse(readFileSync(join(ref, "manifest.json"), "utf8")) as { counts: unknown };
    const b = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { counts: unknown };
    expect(b.counts).toEqual(a.counts);
  });

  it("a run killed before its first checkpoint leaves nothing that looks complete, and --resume starts it over to the same bytes", async () => {
    const args = (out: string): string[] => smallPackArgs(out, 600_000);
    const ref = join(tmp, "ref-early");
    const full = await timedPack(args(ref));
    const out = join(tmp, "killed-early");
    await killAfter(args(out), Math.floor(full / 2)); // mid-run: its only checkpoint would come at the end
    expect(existsSync(join(out, "input_ids.npy.tmp"))).toBe(true); // it had started writing
    expect(existsSync(join(out, ".tokpack-checkpoint.json"))).toBe(false);
    expect(existsSync(join(out, "manifest.json"))).toBe(false);
    await pack([...args(out), "--resume"]);
    expect(digest(out)).toEqual(digest(ref));
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { sources: { path: string; sha256: string }[] };
    expect(m.sources.map((s) => s.sha256)).toEqual([createHash("sha256").update(readFileSync(gsm)).digest("hex")]);
  });

  it("--rank/--world-size outputs are disjoint and merge to a single run in the same order", async () => {
    const a = subset(tmp, "a.jsonl", ["data", "jsonl", "t0", "cosmos_qa_no_prompt_text.jsonl"], 300);
    const b = subset(tmp, "b.jsonl", ["data", "jsonl", "t0", "samsum_Given_the_above_dialogue_write_a_summary.jsonl"], 300);
    const dir = join(tmp, "ranks");
    for (const r of [0, 1]) await pack([a, b, "--tokenizer", "cl100k_base", "--out", dir, "--seq-len", "512", "--workers", "1", "--rank", String(r), "--world-size", "2"]);
    expect(readdirSync(dir).sort()).toEqual(["rank-0-of-2", "rank-1-of-2"]);
    // the same documents in the ranks' order, as one file, packed on one machine
    const lines: string[] = [];
    const keys = new Set<string>();
    for (const r of [0, 1]) {
      for await (const d of createLoader({ sources: [a, b], rank: r, worldSize: 2 })) {
        const line = JSON.stringify({ prompt: d.prompt, completion: d.completion });
        const key = `${d.source.file}:${line}`; // (line numbers are omitted inside byte-range pieces)
        expect(keys.has(key)).toBe(false); // disjoint
        keys.add(key);
        lines.push(line);
      }
    }
    const total = [a, b].reduce((n, f) => n + readFileSync(f, "utf8").split("\n").filter((l) => l !== "").length, 0);
    expect(keys.size).toBe(total);
    const ordered = join(tmp, "ordered.jsonl");
    writeFileSync(ordered, lines.join("\n") + "\n");
    const single = join(tmp, "single");
    await pack([ordered, "--tokenizer", "cl100k_base", "--out", single, "--seq-len", "512", "--workers", "1"]);
    const merged = join(tmp, "merged");
    const r = await runCli(["merge", dir, "--out", merged]);
    expect(r.code).toBe(0);
    expect(sha(join(merged, "data.bin"))).toBe(sha(join(single, "data.bin")));
    expect(sha(join(merged, "data.idx"))).toBe(sha(join(single, "data.idx")));
    const p = parseIdx(readFileSync(join(merged, "data.idx")));
    expect(p.code).toBe(4); // cl100k: vocab ≥ 65,500 → int32
    expect(Number(p.seqs)).toBe(total);
  });

  it("a run that fails before writing a document leaves nothing behind, so the corrected command runs", async () => {
    // no --template: gsm8k has no "text" field, which fails on the first record
    const fresh = join(tmp, "fails-fresh");
    const r = await runCli(["pack", gsm, "--tokenizer", "cl100k_base", "--out", fresh, "--seq-len", "512", "--workers", "1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no field "text"; the record has: "question", "answer"/);
    expect(existsSync(fresh)).toBe(false); // the directory it made is gone
    expect(r.stderr).not.toContain("--resume"); // and nothing is left to resume
    // into a directory that existed: it stays, empty
    const existing = join(tmp, "fails-existing");
    mkdirSync(existing);
    expect((await runCli(["pack", gsm, "--tokenizer", "cl100k_base", "--out", existing, "--seq-len", "512", "--workers", "0"])).code).not.toBe(0);
    expect(readdirSync(existing)).toEqual([]);
    await pack([gsm, "--template", TEMPLATE, "--tokenizer", "cl100k_base", "--out", existing, "--seq-len", "512", "--workers", "1"]);
    expect(existsSync(join(existing, "manifest.json"))).toBe(true);
  });

  it("a run that fails after writing keeps its checkpoint for --resume", async () => {
    const lines = readFileSync(gsm, "utf8").split("\n").filter((l) => l !== "");
    const bad = join(tmp, "bad-late.jsonl");
    writeFileSync(bad, [...lines, "{not json", ...lines.slice(0, 10)].join("\n") + "\n");
    const out = join(tmp, "fails-late");
    // a checkpoint after every batch, so documents before the bad line are on disk when it fails
    const r = await runCli(["pack", bad, "--template", TEMPLATE, "--tokenizer", "cl100k_base", "--out", out, "--seq-len", "512", "--workers", "0", "--checkpoint-ms", "0"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`line ${lines.length + 1}`));
    expect(existsSync(join(out, ".tokpack-checkpoint.json"))).toBe(true);
    expect(r.stderr).toContain(`the output so far is kept in ${out}; --resume continues it`);
  });

  it("end to end on shared data: parquet string columns, t0, ShareGPT chat", async () => {
    const pq = (f: string): string => sharedPath("data", "parquet-testing", f);
    for (const [file, field] of [["delta_byte_array.parquet", "c_customer_id"], ["alltypes_plain.snappy.parquet", "string_col"], ["datapage_v2.snappy.parquet", "a"]] as const) {
      const out = join(tmp, `pq-${file}`);
      await pack([pq(file), "--field", field, "--tokenizer", "gpt2", "--out", out, "--seq-len", "64", "--workers", "1"]);
      const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { counts: { documents: number; tokens: number } };
      expect(m.counts.documents).toBeGreaterThan(0);
      expect(m.counts.tokens).toBeGreaterThan(m.counts.documents);
    }
    const chatOut = join(tmp, "chat");
    await pack([sharedPath("data", "jsonl", "chat", "sharegpt_dummy_conversation.json"), "--chat", "--tokenizer", "cl100k_base", "--out", chatOut, "--seq-len", "1024", "--workers", "2"]);
    const batches = openPacked(chatOut);
    let labeled = 0;
    let tokens = 0;
    for await (const bt of batches) {
      labeled += bt.stats.labeledTokens;
      tokens += bt.stats.tokens;
    }
    expect(labeled).toBeGreaterThan(0);
    expect(labeled).toBeLessThan(tokens); // user turns are masked
    const t0 = join(tmp, "t0");
    await pack([sharedPath("data", "jsonl", "t0", "quartz_given_the_fact_answer_the_q.jsonl"), "--tokenizer", "cl100k_base", "--out", t0, "--seq-len", "2048", "--workers", "2"]);
    expect(existsSync(join(t0, "data.idx"))).toBe(true);
  });
});
