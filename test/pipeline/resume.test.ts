/**
 * Exact resume of createPipeline: a resumed pipeline restores the packer from the state, re-reads only
 * the chunk it stood in, and encodes / hands to `onDocument` only the documents the interrupted one had
 * not pushed — for bfd and concat, reading on the main thread and with workers reading pieces.
 */
import { describe, expect, it } from "vitest";
import { PipelineError } from "../../src/errors.js";
import { createPipeline, type PipelineOptions, type PipelineState } from "../../src/pipeline/index.js";
import { collect, cutAt, gsmPipeline, tempDir } from "./helpers.js";

const dir = tempDir("resume");
const base: PipelineOptions = { ...gsmPipeline(dir), workers: 2 };

const MODES = {
  "main thread reads": { ...base, workersRead: false },
  "workers read pieces": { ...base, loader: { ...base.loader, pieceBytes: 3000 }, workersRead: true },
} satisfies Record<string, PipelineOptions>;

/** Tokens and pieces the state's packer holds, and the state's JSON size. */
function pending(s: PipelineState): { tokens: number; pieces: number; bytes: number; packerBytes: number } {
  let tokens = 0;
  let pieces = 0;
  for (const p of [...s.packer.ready.flat(), ...s.packer.planner.pieces]) {
    tokens += p.len;
    pieces++;
  }
  return { tokens, pieces, bytes: JSON.stringify(s).length, packerBytes: JSON.stringify(s.packer).length };
}

describe("exact resume", () => {
  for (const [mode, modeOpts] of Object.entries(MODES)) {
    for (const packing of ["bfd", "concat"] as const) {
      // the seeded bfd window shuffle is state too
      const pack = packing === "bfd" ? { windowSize: 64, ...(mode === "workers read pieces" ? { seed: 3 } : {}) } : {};
      it(`${packing}, ${mode}: identical batches, no document encoded twice, state size follows pending tokens`, async () => {
        const opts: PipelineOptions = { ...modeOpts, packing, pack };
        const full = await collect(createPipeline(opts));
        expect(full.length).toBeGreaterThan(20);
        for (const cut of [1, Math.floor(full.length / 3), Math.floor((2 * full.length) / 3), full.length - 1]) {
          const { head, state } = await cutAt(createPipeline(opts), cut);
          expect(state.v).toBe(2);
          expect(state.batches).toBe(cut);
          expect(state.docs).toBeGreaterThan(0);
          const seen: number[] = [];
          const resumed = createPipeline({ ...opts, state, onDocument: (_d, i) => seen.push(i) });
          const rest = await collect(resumed);
          expect([...head, ...rest], `cut ${cut}`).toEqual(full);
          // only the documents not pushed before the cut, with their stream indices
          expect(seen, `cut ${cut}`).toEqual(Array.from({ length: 600 - state.docs }, (_, i) => state.docs + i));
          expect(resumed.documents).toBe(600);
          expect(resumed.loaderStats()).toEqual({ docs: 600, skippedBad: 0, skippedNull: 0 });
          // gpt2 ids take 2 bytes, 2.7 base64 characters a token; piece lists and counters besides
          const size = pending(state);
          expect(size.packerBytes, `cut ${cut}`).toBeLessThan(3 * size.tokens + 40 * size.pieces + 1500);
          expect(size.bytes - size.packerBytes, `cut ${cut}: the rest of the state`).toBeLessThan(600);
        }
      });
    }
  }

  it("pad resumes exactly without replaying, across reading modes", async () => {
    const opts: PipelineOptions = { ...MODES["workers read pieces"], packing: "pad" };
    const full = await collect(createPipeline(opts));
    const { head, state } = await cutAt(createPipeline(opts), Math.floor(full.length / 2));
    for (const workers of [0, 2]) {
      let encoded = 0;
      const rest = await collect(createPipeline({ ...opts, workers, state, onDocument: () => encoded++ }));
      expect([...head, ...rest]).toEqual(full);
      expect(encoded).toBe(600 - state.docs);
    }
  });

  it("a state taken after the last batch resumes to nothing; one taken before iterating is the given state", async () => {
    const opts: PipelineOptions = { ...MODES["main thread reads"], packing: "bfd", pack: { windowSize: 64 } };
    const p = createPipeline(opts);
    const n = (await collect(p)).length;
    const end = JSON.parse(JSON.stringify(p.state())) as PipelineState;
    expect(end).toMatchObject({ docs: 600, batches: n, packer: { finished: true, ready: [], docs: [] } });
    let encoded = 0;
    const after = createPipeline({ ...opts, state: end, onDocument: () => encoded++ });
    expect(await collect(after)).toEqual([]);
    expect(encoded).toBe(0);
    expect(after.packStats).toEqual(p.packStats);

    const { state } = await cutAt(createPipeline(opts), 5);
    expect(JSON.parse(JSON.stringify(createPipeline({ ...opts, state }).state()))).toEqual(state);
    expect(JSON.parse(JSON.stringify(createPipeline(opts).state()))).toMatchObject({ v: 2, loader: null, skip: 0, docs: 0, batches: 0 });
  });

  it("refuses version 1 states and states that do not fit the options, naming the field", async () => {
    const opts: PipelineOptions = { ...MODES["main thread reads"], packing: "bfd", pack: { windowSize: 64 } };
    const fieldOf = (o: PipelineOptions): string | undefined => {
      try {
        createPipeline(o);
      } catch (e) {
        expect(e).toBeInstanceOf(PipelineError);
        return (e as PipelineError).context.field;
      }
      return undefined;
    };
    const v1 = { v: 1, loader: null, docs: 0, batchesAtClean: 0, batches: 3 } as unknown as PipelineState;
    expect(fieldOf({ ...opts, state: v1 })).toBe("state.v");
    const { state } = await cutAt(createPipeline(opts), 3);
    expect(fieldOf({ ...opts, seqLen: 128, state })).toBe("state.packer.seqLen");
    expect(fieldOf({ ...opts, state: { ...state, batches: 4 } })).toBe("state.batches");
    expect(fieldOf({ ...opts, state: { ...state, skip: -1 } })).toBe("state.skip");
  });
});
