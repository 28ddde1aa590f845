/**
 * bfd and ffd against brute force: a naive O(n × rows) reference with the same tie rules must produce
 * the same rows, and for small inputs the row count stays within FFD/BFD's proven bound of
 * 11/9 · OPT + 6/9 rows, with OPT found by exhaustive search.
 */
import { describe, expect, it } from "vitest";
import { packDocumentsSync, type PackAlgorithm, type PackedBatch, type TokenizedDoc } from "../../packers/index.js";
import { makeDocs, rng, segmentsOf } from "./helpers.js";

function rowsOf(docs: TokenizedDoc[], algorithm: PackAlgorithm, L: number, windowSize: number, carryOver = true): number[][] {
  const batches: PackedBatch[] = [...packDocumentsSync(docs, { seqLen: L, batchSize: 7, algorithm, windowSize, carryOver })];
  const rows: number[][] = [];
  for (const b of batches) {
    const segs = segmentsOf(b);
    for (let r = 0; r < b.rows; r++) rows.push(segs.filter((s) => s.row === r).map((s) => s.doc));
  }
  return rows;
}

/** Naive bin packing: decreasing order (stable), best fit (ties: most recently used row) or first fit. */
function reference(lengths: number[], L: number, fit: "best" | "first"): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]!);
  const rows: { docs: number[]; used: number; touched: number }[] = [];
  let clock = 0;
  for (const d of order) {
    const n = lengths[d]!;
    let pick = -1;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      if (L - row.used < n) continue;
      if (fit === "first") {
        pick = r;
        break;
      }
      const best = pick < 0 ? undefined : rows[pick]!;
      if (best === undefined || row.used > best.used || (row.used === best.used && row.touched > best.touched)) pick = r;
    }
    if (pick < 0) {
      pick = rows.length;
      rows.push({ docs: [], used: 0, touched: 0 });
    }
    const row = rows[pick]!;
    row.docs.push(d);
    row.used += n;
    row.touched = ++clock;
  }
  return rows.map((r) => r.docs);
}

/** Fewest rows of capacity L that hold every length (exhaustive search, small inputs only). */
function optimalRows(lengths: number[], L: number): number {
  const items = [...lengths].sort((a, b) => b - a);
  let best = items.length;
  const bins: number[] = [];
  const go = (i: number): void => {
    if (bins.length >= best) return;
    if (i === items.length) {
      best = bins.length;
      return;
    }
    const n = items[i]!;
    const tried = new Set<number>();
    for (let b = 0; b < bins.length; b++) {
      if (bins[b]! + n > L || tried.has(bins[b]!)) continue;
      tried.add(bins[b]!);
      bins[b]! += n;
      go(i + 1);
      bins[b]! -= n;
    }
    bins.push(n);
    go(i + 1);
    bins.pop();
  };
  go(0);
  return best;
}

describe.each([
  ["bfd", "best"],
  ["ffd", "first"],
] as const)("%s", (algorithm, fit) => {
  it("matches a naive reference implementation exactly (one window)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const L = 16 + seed * 7;
      const docs = makeDocs(150, 1, L, seed);
      const expected = reference(docs.map((d) => d.ids.length), L, fit);
      expect(rowsOf(docs, algorithm, L, 1000)).toEqual(expected);
    }
  });

  it("stays within 11/9 OPT + 6/9 rows of the exhaustive optimum", () => {
    const r = rng(99);
    for (let trial = 0; trial < 60; trial++) {
      const L = 10 + Math.floor(r() * 20);
      const n = 3 + Math.floor(r() * 7);
      const docs = makeDocs(n, 1, L, 1000 + trial);
      const opt = optimalRows(docs.map((d) => d.ids.length), L);
      const got = rowsOf(docs, algorithm, L, 100).length;
      expect(got).toBeGreaterThanOrEqual(opt);
      expect(got).toBeLessThanOrEqual(Math.floor((11 / 9) * opt + 6 / 9));
    }
  });

  it("packs a multi-window stream with the same tokens, carry-over never losing or duplicating pieces", () => {
    const docs = makeDocs(2000, 1, 300, 4);
    const withCarry = rowsOf(docs, algorithm, 512, 128, true);
    const without = rowsOf(docs, algorithm, 512, 128, false);
    const sorted = (rows: number[][]): number[] => rows.flat().sort((a, b) => a - b);
    expect(sorted(withCarry)).toEqual(docs.map((_, i) => i));
    expect(sorted(without)).toEqual(docs.map((_, i) => i));
    expect(withCarry.length).toBeLessThanOrEqual(without.length);
  });
});
