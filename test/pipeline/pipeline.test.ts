/**
 * createPipeline: worker threads give the same batches as the calling thread, and `state()` resumes
 * to bit-identical batches at several cut points (workers on).
 */
import { describe, expect, it } from "vitest";
import { createPipeline, type PipelineOptions, type PipelineState } from "../../src/pipeline/index.js";
import { sharedPath } from "../shared.js";
import { collect, fingerprint, subset, tempDir } from "./helpers.js";

const dir = tempDir("pipe");
const gsm = subset(dir, "gsm.jsonl", ["data", "jsonl", "gsm8k", "train.jsonl"], 600);
const t0 = subset(dir, "t0.jsonl", ["data", "jsonl", "t0", "cosmos_qa_no_prompt_text.jsonl"], 300);
const t0b = subset(dir, "t0b.jsonl", ["data", "jsonl", "t0", "samsum_Given_the_above_dialogue_write_a_summary.jsonl"], 200);

const base: PipelineOptions = {
  sources: [gsm],
  loader: { document: { template: "{question}\n\n{answer}" } },
  tokenizer: "gpt2",
  seqLen: 256,
  batchSize: 4,
  chunkDocs: 32,
};

describe("createPipeline", () => {
  it("worker threads produce the same batches as the calling thread (text, bfd)", async () => {
    const one = await collect(createPipeline({ ...base, workers: 0 }));
    const two = await collect(createPipeline({ ...base, workers: 2 }));
    expect(one.length).toBeGreaterThan(20);
    expect(two).toEqual(one);
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
        const first = createPipeline(opts);
        const head: string[] = [];
        let state: PipelineState | undefined;
        for await (const b of first) {
          head.push(fingerprint(b));
          if (head.length === cut) {
            state = JSON.parse(JSON.stringify(first.state())) as PipelineState;
            break;
          }
        }
        const rest = await collect(createPipeline({ ...opts, state: state! }));
        expect([...head, ...rest]).toEqual(full);
      }
    });
  }

  it("pad packing finds clean points, so a resume does not replay from the start", async () => {
    const p = createPipeline({ ...base, packing: "pad", workers: 0 });
    let n = 0;
    for await (const _ of p) if (++n === 40) break;
    const s = p.state();
    expect(s.loader).not.toBeNull();
    expect(s.docs).toBeGreaterThan(0);
  });

  it("onDocument sees every document once, in order, with stream indices", async () => {
    const seen: number[] = [];
    const p = createPipeline({ ...base, workers: 2, onDocument: (_d, i) => seen.push(i) });
    for await (const _ of p);
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(p.documents).toBe(600);
  });
});
