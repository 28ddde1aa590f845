/**
 * Chunk buffers are reused once the packer is done with them (see `chunk.ts`). A buffer reused too
 * early would change batches silently, so the pipeline is checked against the packer fed with
 * documents tokenized on their own (no chunks at all), in every reading mode, and pieces that come
 * back in many parts (`parts.ts`) are checked for order, sources and resume.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Packer, packDocumentsSync, type PackAlgorithm, type TokenizedDoc } from "../../packers/index.js";
import { createPipeline, decodeChunk, encodeChunk, type PipelineOptions } from "../../src/pipeline/index.js";
import { recycleChunkBuffer } from "../../src/pipeline/chunk.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import type { SourceRef } from "../../loaders/index.js";
import { PipelineError } from "../../src/errors.js";
import { collect, cutAt, fingerprint, gsmPipeline, tempDir } from "./helpers.js";

const dir = tempDir("recycle");
const base = gsmPipeline(dir);

/** The gsm documents as the pipeline's template renders them, tokenized one by one, EOS appended. */
async function referenceDocs(): Promise<TokenizedDoc[]> {
  const tok = await loadTokenizer("gpt2");
  const eos = tok.special.eos!;
  return readFileSync(base.sources[0], "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const { question, answer } = JSON.parse(l) as { question: string; answer: string };
      const ids = tok.encode(`${question}\n\n${answer}`, { addSpecialTokens: false });
      const withEos = new Uint32Array(ids.length + 1);
      withEos.set(ids);
      withEos[ids.length] = eos;
      return { ids: withEos };
    });
}

describe("chunk buffer reuse", () => {
  const modes: [string, Partial<PipelineOptions>][] = [
    ["calling thread", { workers: 0 }],
    ["workers tokenize chunks", { workers: 2, workersRead: false }],
    ["workers read pieces", { workers: 2, workersRead: true, loader: { ...base.loader, pieceBytes: 3000 } }],
    // ~60 parts of ~150 ids per 20 kB piece: workers wait for credits, and buffers come back with them
    ["workers read pieces in small parts", { workers: 2, workersRead: true, loader: { ...base.loader, pieceBytes: 20_000 }, partTokens: 150 }],
  ];
  for (const packing of ["bfd", "concat"] as PackAlgorithm[]) {
    for (const windowSize of packing === "bfd" ? [16, 2048] : [undefined]) {
      for (const [mode, extra] of modes) {
        it(`${packing}${windowSize ? ` window ${windowSize}` : ""}, ${mode}: the batches of the packer over separately tokenized documents`, async () => {
          const pack = windowSize === undefined ? {} : { windowSize };
          const expected = [...packDocumentsSync(await referenceDocs(), { seqLen: base.seqLen, batchSize: base.batchSize, algorithm: packing, ...pack })].map(fingerprint);
          const got = await collect(createPipeline({ ...base, ...extra, packing, pack }));
          expect(expected.length).toBeGreaterThan(40);
          expect(got).toEqual(expected);
        });
      }
    }
  }

  it("pieces in parts: the same documents from the same lines, a state inside a piece resumes exactly, and a consumer that stops early does not hang", async () => {
    const opts: PipelineOptions = { ...base, workers: 2, workersRead: true, loader: { ...base.loader, pieceBytes: 20_000 }, partTokens: 150, pack: { windowSize: 16 } };
    const srcOne: SourceRef[] = [];
    const srcParts: SourceRef[] = [];
    const one = await collect(createPipeline({ ...opts, workers: 0, onDocument: (_d, _i, s) => srcOne.push(s) }));
    const p = createPipeline({ ...opts, onDocument: (_d, _i, s) => srcParts.push(s) });
    expect(await collect(p)).toEqual(one);
    expect(srcParts).toEqual(srcOne);
    expect(p.loaderStats()).toEqual({ docs: 600, skippedBad: 0, skippedNull: 0 });
    for (const cut of [3, Math.floor(one.length / 2)]) {
      const { head, state } = await cutAt(createPipeline(opts), cut);
      expect(state.skip).toBeGreaterThan(0); // inside a piece
      expect([...head, ...(await collect(createPipeline({ ...opts, state })))]).toEqual(one);
    }
    const early = createPipeline(opts);
    expect(await collect(early, 2)).toEqual(one.slice(0, 2)); // breaks while workers wait for credits
  });

  it("partTokens that is not a positive integer is a PipelineError naming the field", () => {
    for (const partTokens of [0, -5, 1.5, Number.NaN]) {
      let err: unknown;
      try {
        createPipeline({ ...base, partTokens });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PipelineError);
      expect((err as PipelineError).context.field).toBe("partTokens");
      expect((err as PipelineError).message).toContain(`partTokens must be a positive integer, got ${partTokens}`);
    }
  });

  it("reuses buffers: 19 chunks of 32 documents are written into fewer buffers", async () => {
    const buffers = new Set<ArrayBufferLike>();
    const p = createPipeline({ ...base, workers: 0, pack: { windowSize: 16 }, onDocument: (d) => buffers.add(d.ids.buffer) });
    for await (const b of p) p.release(b);
    expect(p.documents).toBe(600);
    expect(buffers.size).toBeGreaterThan(0);
    expect(buffers.size).toBeLessThan(8);
  });

  it("a chunk written into a recycled, larger buffer holding old ids decodes to the same documents", async () => {
    const tok = await loadTokenizer("gpt2");
    const docs = [{ text: "first document" }, { text: null }, { text: "the third one, a little longer than the first" }];
    const fresh = decodeChunk(encodeChunk(tok, docs, {}));
    const big = encodeChunk(tok, Array.from({ length: 50 }, (_, i) => ({ text: `filler ${i} `.repeat(40) })), {});
    recycleChunkBuffer(big);
    const reused = encodeChunk(tok, docs, {});
    expect(reused).toBe(big);
    const again = decodeChunk(reused);
    expect(again.count).toBe(3);
    for (let i = 0; i < 3; i++) expect(again.doc(i)).toEqual(fresh.doc(i));
    expect(again.doc(1)).toBeUndefined();
    expect(again.doc(3)).toBeUndefined();
    expect(Array.from(again.doc(0)!.ids)).toEqual([...tok.encode("first document", { addSpecialTokens: false }), tok.special.eos]);
  });

  it("Packer.buffersInUse names the buffers of pending pieces and untaken rows, and forgets them once taken", () => {
    const a = new Uint32Array(40).fill(7);
    const b = new Uint32Array(40).fill(9);
    const packer = new Packer({ seqLen: 16, batchSize: 4, algorithm: "bfd", windowSize: 8 });
    packer.push({ ids: a.subarray(0, 10) });
    packer.push({ ids: b.subarray(0, 12), lossMask: new Uint8Array(12).fill(1) });
    expect(packer.buffersInUse().has(a.buffer)).toBe(true);
    expect(packer.buffersInUse().has(b.buffer)).toBe(true);
    packer.finish();
    while (packer.take() !== undefined);
    expect(packer.buffersInUse().size).toBe(0);
  });
});
