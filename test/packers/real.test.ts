/**
 * Packing quality on the shared finetuning data with the real cl100k_base tokenizer: the target
 * (bfd padding ≤ 0.5% at L=2048, nothing truncated) and token conservation for every algorithm.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BufferPool, Packer, type PackAlgorithm, type TokenizedDoc } from "../../packers/index.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { hasShared, sharedPath } from "../shared.js";

function pairs(file: string, a: string, b: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const r = JSON.parse(l) as Record<string, string>;
      return `${r[a] ?? ""}\n${r[b] ?? ""}`;
    });
}

describe.runIf(hasShared())("packing t0 + gsm8k (cl100k_base)", () => {
  let docs: TokenizedDoc[] = [];
  let total = 0;
  beforeAll(async () => {
    const tok = await loadTokenizer("cl100k_base");
    const t0 = sharedPath("data", "jsonl", "t0");
    const texts = [
      ...readdirSync(t0)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
        .flatMap((f) => pairs(join(t0, f), "prompt", "completion")),
      ...pairs(sharedPath("data", "jsonl", "gsm8k", "train.jsonl"), "question", "answer"),
    ];
    docs = texts.map((t) => ({ ids: tok.encode(t) }));
    total = docs.reduce((a, d) => a + d.ids.length, 0);
  });

  it.each(["bfd", "ffd", "concat", "pad"] as PackAlgorithm[])("%s at L=2048 accounts for every token", (algorithm) => {
    const pool = new BufferPool();
    const p = new Packer({ seqLen: 2048, batchSize: 8, algorithm, pool });
    let tokens = 0;
    const drain = (): void => {
      for (let b = p.take(); b !== undefined; b = p.take()) {
        tokens += b.stats.tokens;
        pool.release(b);
      }
    };
    for (const d of docs) {
      p.push(d);
      drain();
    }
    p.finish();
    drain();
    const s = p.stats;
    expect(tokens).toBe(s.tokens);
    expect(s.tokens + s.truncatedTokens + s.droppedTokens).toBe(total);
    if (algorithm !== "pad") {
      expect(s.truncatedTokens + s.droppedTokens).toBe(0);
    }
    if (algorithm === "bfd") {
      expect(s.windowSize).toBe(2048);
      expect(s.paddingTokens / (s.rows * 2048)).toBeLessThanOrEqual(0.005);
    }
  });
});
