/** The example end to end: real tokenizer (gpt2), gsm8k from ../shared, packed, trained a few steps. */
import { describe, expect, it } from "vitest";
import { runFinetune } from "../../examples/finetune.js";
import { hasShared, sharedPath } from "../shared.js";

describe.runIf(hasShared())("examples/finetune.ts", () => {
  it("tokenizes, packs and trains; the loss goes down and throughput is reported", async () => {
    const lines: string[] = [];
    const r = await runFinetune({
      data: sharedPath("data", "jsonl", "gsm8k", "train.jsonl"),
      maxDocs: 200,
      steps: 8,
      seqLen: 64,
      batchSize: 4,
      maxVocab: 256,
      dim: 32,
      layers: 1,
      learningRate: 1e-2,
      log: (l) => lines.push(l),
    });
    expect(r.tokenizer).toBe("gpt2");
    expect(r.losses.length).toBe(8);
    expect(r.losses[7]!).toBeLessThan(r.losses[0]!);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    expect(r.pack.docs).toBe(200);
    expect(r.pack.truncatedTokens + r.pack.droppedTokens).toBe(0);
    expect(lines.some((l) => /tokens\/s/.test(l))).toBe(true);
  });
});
