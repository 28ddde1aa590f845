/** Properties every packing algorithm must satisfy, checked on seeded random documents. */
import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, Packer, packDocuments, packDocumentsSync, type PackAlgorithm, type PackedBatch, type PackStats, type TokenizedDoc } from "../../packers/index.js";
import { docOf, idOf, makeDocs, posOf, segmentsOf } from "./helpers.js";

function collect(docs: TokenizedDoc[], opts: Parameters<typeof packDocumentsSync>[1]): { batches: PackedBatch[]; stats: PackStats } {
  const gen = packDocumentsSync(docs, opts);
  const batches: PackedBatch[] = [];
  for (;;) {
    const r = gen.next();
    if (r.done) return { batches, stats: r.value };
    batches.push(r.value);
  }
}

/** Cheap equality check for per-token loops (expect() per token is slow). */
function eq(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** Checks the per-batch layout invariants and returns the segments seen. */
function checkBatch(batch: PackedBatch, docs: TokenizedDoc[], padId: number): void {
  const L = batch.seqLen;
  const arrays = [batch.inputIds, batch.labels, batch.positionIds, batch.segmentIds, batch.attentionMask, batch.seqLens, batch.cuSeqlens, batch.rowSegments];
  for (const a of arrays) {
    expect(a).toBeInstanceOf(Int32Array);
    eq(a.buffer, batch.buffer, "buffer");
  }
  for (const a of arrays.slice(0, 5)) eq(a.length, batch.rows * L, "length");
  let tokens = 0;
  let labeled = 0;
  for (let r = 0; r < batch.rows; r++) {
    let prevSeg = 0;
    let padding = false;
    for (let c = 0; c < L; c++) {
      const i = r * L + c;
      const seg = batch.segmentIds[i]!;
      if (seg === 0) {
        padding = true;
        eq(batch.attentionMask[i], 0, "batch.attentionMask[i] at " + i);
        eq(batch.labels[i], IGNORE_INDEX, "batch.labels[i] at " + i);
        eq(batch.positionIds[i], 0, "batch.positionIds[i] at " + i);
        eq(batch.inputIds[i], padId, "batch.inputIds[i] at " + i);
        continue;
      }
      eq(padding, false, "padding at " + i); // padding only at the end of a row
      tokens++;
      eq(batch.attentionMask[i], 1, "batch.attentionMask[i] at " + i);
      const id = batch.inputIds[i]!;
      const d = docOf(id);
      const p = posOf(id);
      const doc = docs[d]!;
      if (seg !== prevSeg) {
        eq(seg, prevSeg + 1, "seg at " + i); // 1..k in order
        eq(batch.positionIds[i], 0, "batch.positionIds[i] at " + i); // positions restart per segment
      } else {
        eq(batch.positionIds[i], batch.positionIds[i - 1]! + 1, "batch.positionIds[i] at " + i);
        eq(id, batch.inputIds[i - 1]! + 1, "id at " + i); // contiguous run of the same document
      }
      prevSeg = seg;
      // label = the same document's next token, or -100 at its end / where the target is masked off
      const hasNext = p + 1 < doc.ids.length && (doc.lossMask === undefined || doc.lossMask[p + 1] === 1);
      eq(batch.labels[i], hasNext ? idOf(d, p + 1) : IGNORE_INDEX, "batch.labels[i] at " + i);
      if (hasNext) {
        labeled++;
        eq(docOf(batch.labels[i]!), d, "docOf(batch.labels[i]!) at " + i); // never crosses a document boundary
      }
    }
    eq(batch.rowSegments[r], prevSeg, "batch.rowSegments[r]");
  }
  const segs = segmentsOf(batch);
  expect(batch.seqLens.length).toBe(segs.length);
  expect(batch.cuSeqlens.length).toBe(segs.length + 1);
  expect(batch.cuSeqlens[0]).toBe(0);
  segs.forEach((s, k) => {
    expect(batch.seqLens[k]).toBe(s.len);
    expect(batch.cuSeqlens[k + 1]! - batch.cuSeqlens[k]!).toBe(s.len);
  });
  expect(batch.maxSeqlen).toBe(Math.max(0, ...segs.map((s) => s.len)));
  expect(batch.stats.tokens).toBe(tokens);
  expect(batch.stats.paddingTokens).toBe(batch.rows * L - tokens);
  expect(batch.stats.segments).toBe(segs.length);
  expect(batch.stats.labeledTokens).toBe(labeled);
}

const ALGOS: PackAlgorithm[] = ["concat", "bfd", "ffd", "pad"];

describe.each(ALGOS)("%s", (algorithm) => {
  it("keeps every token of every document exactly once (split), with correct labels/positions/segments", () => {
    const L = 64;
    const docs = makeDocs(300, 1, 200, 7, true);
    const { batches, stats } = collect(docs, { seqLen: L, batchSize: 5, algorithm, overlong: "split", windowSize: 50 });
    const seen = docs.map((d) => new Uint8Array(d.ids.length));
    for (const b of batches) {
      checkBatch(b, docs, 0);
      for (const s of segmentsOf(b)) for (let p = s.start; p < s.start + s.len; p++) seen[s.doc]![p]!++;
    }
    for (const s of seen) expect(s.every((x) => x === 1)).toBe(true);
    const total = docs.reduce((a, d) => a + d.ids.length, 0);
    expect(stats.tokens).toBe(total);
    expect(stats.inputTokens).toBe(total);
    expect(stats.truncatedTokens + stats.droppedTokens).toBe(0);
    expect(stats.rows).toBe(batches.reduce((a, b) => a + b.rows, 0));
    expect(stats.paddingTokens).toBe(stats.rows * L - total);
    expect(batches.slice(0, -1).every((b) => b.rows === 5)).toBe(true);
    expect(stats.windowSize).toBe(algorithm === "bfd" || algorithm === "ffd" ? 50 : 0);
    // every label target (token after position 0 with mask on) is predicted exactly once
    const targets = docs.reduce((a, d) => a + d.lossMask!.subarray(1).reduce((x, y) => x + y, 0), 0);
    expect(stats.labeledTokens).toBe(targets);
  });

  it("counts every truncated and dropped token", () => {
    const L = 32;
    const docs = makeDocs(200, 1, 100, 11);
    const over = docs.filter((d) => d.ids.length > L);
    const excess = over.reduce((a, d) => a + d.ids.length - L, 0);
    const total = docs.reduce((a, d) => a + d.ids.length, 0);
    const t = collect(docs, { seqLen: L, batchSize: 3, algorithm, overlong: "truncate", windowSize: 40 });
    expect(t.stats.truncatedTokens).toBe(excess);
    expect(t.stats.tokens).toBe(total - excess);
    expect(t.batches.reduce((a, b) => a + b.stats.truncatedTokens, 0)).toBe(excess);
    for (const b of t.batches) checkBatch(b, docs, 0);
    const d = collect(docs, { seqLen: L, batchSize: 3, algorithm, overlong: "drop", windowSize: 40, padId: 7 });
    expect(d.stats.droppedDocs).toBe(over.length);
    expect(d.stats.droppedTokens).toBe(excess + over.length * L);
    expect(d.stats.tokens).toBe(total - d.stats.droppedTokens);
    for (const b of d.batches) checkBatch(b, docs, 7);
    for (const b of d.batches) for (const s of segmentsOf(b)) expect(docs[s.doc]!.ids.length).toBeLessThanOrEqual(L);
  });

  it("is deterministic and the async generator matches the sync one", async () => {
    const docs = makeDocs(120, 1, 90, 3);
    const opts = { seqLen: 48, batchSize: 4, algorithm, windowSize: 30, seed: 5 } as const;
    const a = collect(docs, opts).batches;
    const b = collect(docs, opts).batches;
    async function* stream(): AsyncGenerator<TokenizedDoc> {
      for (const d of docs) yield d;
    }
    const c: PackedBatch[] = [];
    for await (const x of packDocuments(stream(), opts)) c.push(x);
    expect(b.length).toBe(a.length);
    expect(c.length).toBe(a.length);
    a.forEach((x, i) => {
      expect(new Int32Array(b[i]!.buffer)).toEqual(new Int32Array(x.buffer));
      expect(new Int32Array(c[i]!.buffer)).toEqual(new Int32Array(x.buffer));
    });
  });
});

describe("algorithm-specific shapes", () => {
  it("concat fills every row but the last completely", () => {
    const docs = makeDocs(100, 1, 150, 21);
    const { batches } = collect(docs, { seqLen: 50, batchSize: 4, algorithm: "concat" });
    const rows = batches.flatMap((b) => Array.from({ length: b.rows }, (_, r) => b.attentionMask.subarray(r * 50, r * 50 + 50)));
    rows.slice(0, -1).forEach((m) => expect(m.every((x) => x === 1)).toBe(true));
  });

  it("pad puts exactly one document (piece) per row", () => {
    const docs = makeDocs(50, 1, 40, 2);
    const { batches } = collect(docs, { seqLen: 40, batchSize: 8, algorithm: "pad" });
    for (const b of batches) expect(Array.from(b.rowSegments).every((k) => k === 1)).toBe(true);
    expect(batches.flatMap(segmentsOf).map((s) => s.doc)).toEqual(docs.map((_, i) => i));
  });

  it("a seed shuffles bfd rows but keeps the same rows", () => {
    const docs = makeDocs(200, 1, 60, 9);
    const key = (bs: PackedBatch[]): string[] =>
      bs.flatMap((b) => {
        const segs = segmentsOf(b);
        return Array.from({ length: b.rows }, (_, r) => JSON.stringify(segs.filter((s) => s.row === r).map((s) => [s.doc, s.start, s.len])));
      });
    const plain = key(collect(docs, { seqLen: 64, batchSize: 4, windowSize: 500 }).batches);
    const seeded = key(collect(docs, { seqLen: 64, batchSize: 4, windowSize: 500, seed: 1 }).batches);
    expect(seeded).not.toEqual(plain);
    expect([...seeded].sort()).toEqual([...plain].sort());
  });

  it.each(["bfd", "ffd"] as const)("%s keeps no view of a document's array once two windows have passed (carried leftovers are copied)", (algorithm) => {
    // Documents of varied lengths, some overlong (split, with labels across the cut) and masked: the
    // packer's leftovers wait several windows. After each push and drain, the arrays of documents
    // pushed more than two windows ago are clobbered, as a caller reusing its memory would; the
    // batches must still equal those of a run whose arrays stay intact.
    const window = 64;
    const opts = { seqLen: 48, batchSize: 4, algorithm, windowSize: window } as const;
    const make = () => makeDocs(1500, 1, 70, 21, true);
    const expected = collect(make(), opts).batches;
    const docs = make();
    const p = new Packer(opts);
    const got: PackedBatch[] = [];
    docs.forEach((d, i) => {
      p.push(d);
      for (let b = p.take(); b !== undefined; b = p.take()) got.push(b);
      const old = docs[i - 2 * window];
      if (old !== undefined) {
        old.ids.fill(0xffffffff);
        old.lossMask?.fill(0);
      }
    });
    p.finish();
    for (let b = p.take(); b !== undefined; b = p.take()) got.push(b);
    expect(got.length).toBe(expected.length);
    got.forEach((b, i) => {
      const e = expected[i]!;
      for (const k of ["inputIds", "labels", "positionIds", "segmentIds", "attentionMask"] as const) expect(Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength).equals(Buffer.from(e[k].buffer, e[k].byteOffset, e[k].byteLength)), `batch ${i} ${k}`).toBe(true);
    });
  });

  it("dropLast drops the partial final batch and counts its tokens", () => {
    const docs = makeDocs(10, 30, 30, 1);
    const { batches, stats } = collect(docs, { seqLen: 30, batchSize: 4, algorithm: "pad", dropLast: true });
    expect(batches.length).toBe(2);
    expect(stats.droppedTokens).toBe(60);
    expect(stats.tokens + stats.droppedTokens).toBe(stats.inputTokens);
  });
});
