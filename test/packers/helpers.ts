/** Test helpers: synthetic documents whose ids encode (document, position), and a batch decoder. */
import type { PackedBatch, TokenizedDoc } from "../../packers/index.js";

/** Ids are doc * 65536 + position, so every token says where it came from. */
export const idOf = (doc: number, pos: number): number => doc * 65536 + pos;
export const docOf = (id: number): number => Math.floor(id / 65536);
export const posOf = (id: number): number => id % 65536;

/** Small seeded PRNG for test data (independent of the packer's). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** `count` documents with lengths in [minLen, maxLen]; optional random loss masks. */
export function makeDocs(count: number, minLen: number, maxLen: number, seed: number, withMask = false): TokenizedDoc[] {
  const r = rng(seed);
  const docs: TokenizedDoc[] = [];
  for (let d = 0; d < count; d++) {
    const n = minLen + Math.floor(r() * (maxLen - minLen + 1));
    const ids = new Uint32Array(n);
    for (let p = 0; p < n; p++) ids[p] = idOf(d, p);
    if (withMask) {
      const mask = new Uint8Array(n);
      for (let p = 0; p < n; p++) mask[p] = r() < 0.6 ? 1 : 0;
      docs.push({ ids, lossMask: mask });
    } else docs.push({ ids });
  }
  return docs;
}

/** One segment as seen in the output. */
export interface SeenSegment {
  batch: number;
  row: number;
  doc: number;
  start: number;
  len: number;
}

/** Read every row of a batch back as segments, by `segmentIds`. */
export function segmentsOf(batch: PackedBatch): SeenSegment[] {
  const out: SeenSegment[] = [];
  const L = batch.seqLen;
  for (let r = 0; r < batch.rows; r++) {
    let i = r * L;
    const end = i + L;
    while (i < end && batch.segmentIds[i] !== 0) {
      const seg = batch.segmentIds[i]!;
      const first = batch.inputIds[i]!;
      let j = i;
      while (j < end && batch.segmentIds[j] === seg) j++;
      out.push({ batch: batch.index, row: r, doc: docOf(first), start: posOf(first), len: j - i });
      i = j;
    }
  }
  return out;
}
