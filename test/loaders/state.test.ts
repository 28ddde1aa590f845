/**
 * Sharding, shuffling, epochs, mixing and exact resume. References are independent of the loader:
 * every record carries a unique `id`, so completeness / disjointness are checked against the ids
 * written, and resume against an uninterrupted run of the same configuration.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoaderStateError } from "../../src/errors.js";
import { createLoader, mixLoaders, Rng } from "../../loaders/index.js";
import type { Document, LoaderOptions } from "../../loaders/index.js";
import { collect, lit, sql, take, tempDir } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
const ids: string[] = [];
let sources: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  const d = tmp.dir;
  const line = (p: string, i: number) => JSON.stringify({ text: `${p}${i} ${"w".repeat((i * 13) % 200)}` });
  writeFileSync(join(d, "a.jsonl"), Array.from({ length: 4000 }, (_, i) => line("a", i)).join("\n") + "\n");
  writeFileSync(join(d, "b.jsonl.gz"), gzipSync(Array.from({ length: 1500 }, (_, i) => line("b", i)).join("\n")));
  writeFileSync(join(d, "c.json"), JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ text: `c${i}` })), null, 1));
  await sql(`COPY (SELECT 'p' || i || ' ' || repeat('x', i % 50) AS text FROM range(3000) t(i)) TO ${lit(join(d, "p.parquet"))} (FORMAT parquet, ROW_GROUP_SIZE 400)`);
  await sql(`COPY (SELECT 'q' || i AS text FROM range(10000) t(i)) TO ${lit(join(d, "one-group.parquet"))} (FORMAT parquet)`);
  for (let i = 0; i < 4000; i++) ids.push(`a${i}`);
  for (let i = 0; i < 1500; i++) ids.push(`b${i}`);
  for (let i = 0; i < 300; i++) ids.push(`c${i}`);
  for (let i = 0; i < 3000; i++) ids.push(`p${i}`);
  sources = ["a.jsonl", "b.jsonl.gz", "c.json", "p.parquet"].map((f) => join(d, f));
});
afterAll(() => tmp.cleanup());

const idOf = (d: Document) => String(d.text).split(" ")[0]!;
const sorted = (a: string[]) => a.slice().sort();

describe("sharding", () => {
  it.each([
    [1, 1],
    [2, 1],
    [2, 2],
    [3, 1],
    [4, 3],
  ])("worldSize %i × numWorkers %i: disjoint, complete, balanced", async (worldSize, numWorkers) => {
    const per: string[][] = [];
    for (let rank = 0; rank < worldSize; rank++) {
      for (let workerId = 0; workerId < numWorkers; workerId++) {
        const docs = await collect(createLoader({ sources, rank, worldSize, workerId, numWorkers, pieceBytes: 16 * 1024 }));
        per.push(docs.map(idOf));
      }
    }
    expect(sorted(per.flat())).toEqual(sorted(ids));
    const counts = per.map((p) => p.length);
    const mean = ids.length / counts.length;
    for (const c of counts) expect(Math.abs(c - mean)).toBeLessThan(mean * 0.35 + 400);
  });

  it("one big single-row-group parquet file is split across ranks by rows", async () => {
    const counts: number[] = [];
    const all: string[] = [];
    for (let rank = 0; rank < 4; rank++) {
      const docs = await collect(createLoader({ sources: join(tmp.dir, "one-group.parquet"), rank, worldSize: 4 }));
      counts.push(docs.length);
      all.push(...docs.map(idOf));
    }
    expect(counts).toEqual([2500, 2500, 2500, 2500]);
    expect(sorted(all)).toEqual(sorted(Array.from({ length: 10000 }, (_, i) => `q${i}`)));
  });

  it("one gzip file (unsplittable) is strided across ranks", async () => {
    const per = await Promise.all([0, 1, 2].map((rank) => collect(createLoader({ sources: sources[1]!, rank, worldSize: 3 }))));
    expect(sorted(per.flat().map(idOf))).toEqual(sorted(ids.filter((i) => i.startsWith("b"))));
    for (const p of per) expect(Math.abs(p.length - 500)).toBeLessThanOrEqual(1);
  });

  it("rejects a rank outside the world", () => {
    expect(() => createLoader({ sources, rank: 2, worldSize: 2 })).toThrow(LoaderStateError);
  });
});

describe("shuffle", () => {
  it("same seed → same order; other seed → other order; same multiset; epochs reshuffle", async () => {
    const o: LoaderOptions = { sources, shuffleSeed: 1234, shuffleBuffer: 256, epochs: 2, pieceBytes: 16 * 1024 };
    const a = (await collect(createLoader(o))).map(idOf);
    const b = (await collect(createLoader(o))).map(idOf);
    const c = (await collect(createLoader({ ...o, shuffleSeed: 99 }))).map(idOf);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    const e1 = a.slice(0, ids.length);
    const e2 = a.slice(ids.length);
    expect(sorted(e1)).toEqual(sorted(ids));
    expect(sorted(e2)).toEqual(sorted(ids));
    expect(e2).not.toEqual(e1);
    expect(a.slice(0, 50)).not.toEqual(ids.slice(0, 50));
  });

  it("the PRNG is the published xoshiro128** sequence for a given state", () => {
    // Reference values: xoshiro128** with state {1, 2, 3, 4} (from the authors' C code, first 4 outputs).
    const r = Rng.from([1, 2, 3, 4]);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040, 70819200]);
  });
});

/** Runs `opts` uninterrupted, then for each cut: take `cut` docs, save state as JSON, resume, compare. */
async function checkResume(opts: LoaderOptions, cuts: (n: number) => number[]): Promise<void> {
  const full = createLoader(opts);
  const fullDocs = await collect(full);
  const fullStats = full.stats();
  for (const cut of cuts(fullDocs.length)) {
    const first = createLoader(opts);
    const before = await take(first, cut);
    const saved = JSON.parse(JSON.stringify(first.state())) as LoaderOptions["state"];
    await first.close();
    const second = createLoader({ ...opts, state: saved! });
    const after = await collect(second);
    expect(before.concat(after), `cut at ${cut}`).toEqual(fullDocs);
    expect(second.stats(), `stats after cut at ${cut}`).toEqual(fullStats);
  }
}

function cutPoints(n: number, count: number, seed: number): number[] {
  const r = new Rng(seed);
  const pts = new Set([0, 1, 2, n - 1, n]);
  while (pts.size < count) pts.add(r.below(n + 1));
  return [...pts].sort((a, b) => a - b);
}

describe("resume from state()", () => {
  it("plain order, all formats: before cut + after resume == uninterrupted", async () => {
    await checkResume({ sources, pieceBytes: 16 * 1024 }, (n) => cutPoints(n, 14, 1));
  });

  it("shuffled with a buffer, 2 epochs, rank 1 of 2: shuffle buffer survives the resume", async () => {
    const opts: LoaderOptions = { sources, shuffleSeed: "s", shuffleBuffer: 100, epochs: 2, rank: 1, worldSize: 2, pieceBytes: 16 * 1024 };
    await checkResume(opts, (n) => cutPoints(n, 14, 2));
    const l = createLoader(opts);
    await take(l, 500);
    expect(l.state().buffer.length).toBe(99); // full buffer minus the document just emitted
  });

  it("state() copies the shuffle buffer's documents; stateSharingDocuments() is the same position without the copy", async () => {
    const opts: LoaderOptions = { sources, shuffleSeed: 3, shuffleBuffer: 50, pieceBytes: 16 * 1024 };
    const l = createLoader(opts);
    await take(l, 200);
    const copied = l.state();
    const shared = l.stateSharingDocuments();
    expect(JSON.parse(JSON.stringify(shared))).toEqual(JSON.parse(JSON.stringify(copied)));
    expect(copied.buffer[0]).not.toBe(shared.buffer[0]);
    const rest = await collect(createLoader({ ...opts, state: JSON.parse(JSON.stringify(copied)) as LoaderOptions["state"] }));
    copied.buffer[0]!.text = "changed by the caller"; // a copy: the loader's own documents are untouched
    expect(await collect(l)).toEqual(rest);
  });

  it("skipped bad records and nulls are counted the same across a resume", async () => {
    const path = join(tmp.dir, "mixed-bad.jsonl");
    const lines = Array.from({ length: 600 }, (_, i) => (i % 37 === 5 ? "{broken" : i % 41 === 3 ? '{"text":null}' : JSON.stringify({ text: `m${i}` })));
    writeFileSync(path, lines.join("\n"));
    await checkResume({ sources: path, skipBad: true, pieceBytes: 1024 }, (n) => cutPoints(n, 10, 3));
    const l = createLoader({ sources: path, skipBad: true });
    await collect(l);
    const bad = lines.filter((x) => x === "{broken").length;
    const nulls = lines.filter((x) => x === '{"text":null}').length;
    expect(l.stats()).toEqual({ docs: 600 - bad - nulls, skippedBad: bad, skippedNull: nulls });
  });

  it("chained resumes (resume from a resumed loader) still match", async () => {
    const opts: LoaderOptions = { sources, shuffleSeed: 7, shuffleBuffer: 32, pieceBytes: 16 * 1024 };
    const full = await collect(createLoader(opts));
    const got: Document[] = [];
    let state: LoaderOptions["state"];
    for (const step of [700, 1, 2300, 1900, 3000]) {
      const l = createLoader(state ? { ...opts, state } : opts);
      got.push(...(await take(l, step)));
      state = JSON.parse(JSON.stringify(l.state())) as LoaderOptions["state"];
    }
    got.push(...(await collect(createLoader({ ...opts, state: state! }))));
    expect(got).toEqual(full);
  });

  it("state is small JSON without a shuffle buffer, and a foreign state is refused", async () => {
    const l = createLoader({ sources });
    await take(l, 10);
    const st = l.state();
    expect(JSON.stringify(st).length).toBeLessThan(400);
    expect(() => createLoader({ sources, shuffleSeed: 1, state: st })).not.toThrow();
    await expect(collect(createLoader({ sources, shuffleSeed: 1, state: st }))).rejects.toBeInstanceOf(LoaderStateError);
  });
});

describe("mixing", () => {
  const a = (): LoaderOptions => ({ sources: sources[0]!, pieceBytes: 16 * 1024 });
  const p = (): LoaderOptions => ({ sources: sources[3]!, epochs: 2 });

  it("follows the weights, is deterministic by seed, and honours per-source epochs", async () => {
    const mk = (seed: number) => mixLoaders([{ loader: a(), weight: 3 }, { loader: p(), weight: 1 }], { seed });
    const x = (await collect(mk(5))).map(idOf);
    const y = (await collect(mk(5))).map(idOf);
    expect(x).toEqual(y);
    expect(x.length).toBe(4000 + 6000);
    const head = x.slice(0, 2000);
    const fromA = head.filter((i) => i.startsWith("a")).length;
    expect(fromA / 2000).toBeGreaterThan(0.7);
    expect(fromA / 2000).toBeLessThan(0.8);
    const first = await collect(mixLoaders([{ loader: a(), weight: 3 }, { loader: p(), weight: 1 }], { seed: 5, stopping: "first_exhausted" }));
    expect(first.length).toBeLessThan(x.length);
  });

  it("resumes exactly at many cut points", async () => {
    const srcs = [
      { loader: { ...a(), shuffleSeed: 3, shuffleBuffer: 50 }, weight: 2 },
      { loader: p(), weight: 1 },
    ];
    const full = await collect(mixLoaders(srcs, { seed: 11 }));
    for (const cut of cutPoints(full.length, 8, 4)) {
      const m = mixLoaders(srcs, { seed: 11 });
      const before = await take(m, cut);
      const state = JSON.parse(JSON.stringify(m.state())) as ReturnType<typeof m.state>;
      await m.close();
      const after = await collect(mixLoaders(srcs, { seed: 11, state }));
      expect(before.concat(after), `cut ${cut}`).toEqual(full);
    }
  });
});
