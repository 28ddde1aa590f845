/**
 * `Packer.snapshot` / `Packer.restore`: a packer restored from a JSON round trip of a snapshot continues
 * exactly like one that was never interrupted — same batches (every array), same final stats — at many
 * cut points, on real gpt2-tokenized finetuning data and on synthetic documents, for every algorithm,
 * overlong policy, with and without loss masks and shuffle seed. Always compared with an uninterrupted
 * run of the same push/take schedule, never with stored output.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BufferPool,
  Packer,
  type OverlongPolicy,
  type PackAlgorithm,
  type PackedBatch,
  type PackerSnapshot,
  type PackOptions,
  type TokenizedDoc,
} from "../../packers/index.js";
import { PackOptionsError } from "../../src/errors.js";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { hasShared, sharedPath } from "../shared.js";
import { makeDocs, rng } from "./helpers.js";

/** A schedule op: a document index to push, or one of these. */
const TAKE_ONE = -1;
const TAKE_ALL = -2;
const FINISH = -3;

/**
 * Push every document; after each, take all ready batches (45%), one (20%) or none, so ready rows pile
 * up between takes; then finish, take one, take the rest.
 */
function schedule(n: number, seed: number): number[] {
  const r = rng(seed);
  const ops: number[] = [];
  for (let i = 0; i < n; i++) {
    ops.push(i);
    const x = r();
    if (x < 0.45) ops.push(TAKE_ALL);
    else if (x < 0.65) ops.push(TAKE_ONE);
  }
  ops.push(FINISH, TAKE_ONE, TAKE_ALL);
  return ops;
}

const hash = (a: Int32Array): string => createHash("sha1").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("base64");

/** Every array of a batch (by hash) and every scalar: equal fingerprints = byte-identical batches. */
function fingerprint(b: PackedBatch): Record<string, unknown> {
  return {
    index: b.index,
    rows: b.rows,
    seqLen: b.seqLen,
    maxSeqlen: b.maxSeqlen,
    stats: b.stats,
    inputIds: hash(b.inputIds),
    labels: hash(b.labels),
    positionIds: hash(b.positionIds),
    segmentIds: hash(b.segmentIds),
    attentionMask: hash(b.attentionMask),
    seqLens: hash(b.seqLens),
    cuSeqlens: hash(b.cuSeqlens),
    rowSegments: hash(b.rowSegments),
  };
}

/** Apply one op; fingerprints taken batches into `out` (and recycles their buffers through `pool`). */
function apply(p: Packer, op: number, docs: readonly TokenizedDoc[], out: unknown[], pool: BufferPool): void {
  if (op >= 0) p.push(docs[op]!);
  else if (op === FINISH) p.finish();
  else {
    for (let b = p.take(); b !== undefined; b = op === TAKE_ALL ? p.take() : undefined) {
      out.push(fingerprint(b));
      pool.release(b);
    }
  }
}

const roundTrip = (s: PackerSnapshot): PackerSnapshot => JSON.parse(JSON.stringify(s)) as PackerSnapshot;

/**
 * Cut points: 0, the end, just before/after finish, right after ops that emitted a batch and right after
 * pushes that left batches ready untaken (up to `perKind` of each, spread out), plus random ones.
 */
function cutPoints(ops: readonly number[], emittedAfter: readonly number[], perKind: number, seed: number): number[] {
  const cuts = new Set<number>([0, 1, ops.length - 1, ops.length, ops.indexOf(FINISH), ops.indexOf(FINISH) + 1]);
  const spread = (list: number[]): void => {
    const step = Math.max(1, Math.floor(list.length / perKind));
    for (let i = 0; i < list.length; i += step) cuts.add(list[i]!);
  };
  const afterEmit: number[] = [];
  const afterPush: number[] = [];
  for (let c = 1; c <= ops.length; c++) {
    if (emittedAfter[c]! > emittedAfter[c - 1]!) afterEmit.push(c);
    else if (ops[c - 1]! >= 0 && ops[c] !== TAKE_ALL && ops[c] !== TAKE_ONE) afterPush.push(c);
  }
  spread(afterEmit);
  spread(afterPush);
  const r = rng(seed);
  for (let i = 0; i < perKind; i++) cuts.add(Math.floor(r() * (ops.length + 1)));
  return [...cuts].filter((c) => c >= 0 && c <= ops.length).sort((a, b) => a - b);
}

/**
 * Run `ops` uninterrupted, then once more snapshotting at every cut (the snapshotted packer goes on and
 * must not be disturbed), and resume each snapshot after a JSON round trip: the batches and stats of
 * the resumed packer must equal the uninterrupted run's from the cut on. Returns the number of cuts.
 */
function checkResume(docs: readonly TokenizedDoc[], options: PackOptions, ops: readonly number[], perKind = 6, seed = 1): number {
  const pool = new BufferPool();
  const ref: unknown[] = [];
  const emittedAfter = [0];
  const r = new Packer(options);
  for (const op of ops) {
    apply(r, op, docs, ref, pool);
    emittedAfter.push(ref.length);
  }
  const cuts = cutPoints(ops, emittedAfter, perKind, seed);

  const a = new Packer(options);
  const outA: unknown[] = [];
  const snaps: { cut: number; json: string; emitted: number; stats: unknown }[] = [];
  for (let c = 0; c <= ops.length; c++) {
    if (cuts.includes(c)) snaps.push({ cut: c, json: JSON.stringify(a.snapshot()), emitted: outA.length, stats: a.stats });
    if (c < ops.length) apply(a, ops[c]!, docs, outA, pool);
  }
  expect(outA).toEqual(ref);
  expect(a.stats).toEqual(r.stats);

  for (const s of snaps) {
    const b = Packer.restore({ ...options, pool }, JSON.parse(s.json) as PackerSnapshot);
    expect(b.stats, `stats right after restoring cut ${s.cut}`).toEqual(s.stats);
    const outB: unknown[] = [];
    for (let c = s.cut; c < ops.length; c++) apply(b, ops[c]!, docs, outB, pool);
    expect(outB, `batches after cut ${s.cut} of ${ops.length}`).toEqual(ref.slice(s.emitted));
    expect(b.stats, `final stats after cut ${s.cut}`).toEqual(r.stats);
  }
  return cuts.length;
}

const ALGORITHMS: PackAlgorithm[] = ["concat", "bfd", "ffd", "pad"];
const POLICIES: OverlongPolicy[] = ["split", "truncate", "drop"];
const MATRIX = ALGORITHMS.flatMap((algorithm) =>
  POLICIES.flatMap((overlong) =>
    [false, true].flatMap((mask) => [undefined, 17].map((seed) => ({ algorithm, overlong, mask, seed }))),
  ),
);
const label = (m: (typeof MATRIX)[number]): string => `${m.algorithm} ${m.overlong} mask=${String(m.mask)} seed=${String(m.seed)}`;

describe("snapshot/restore on synthetic documents", () => {
  // Lengths 0..200 at L=64: empty documents, documents that fill rows exactly, overlong up to ~3 rows.
  it.each(MATRIX.map((m) => [label(m), m] as const))("%s resumes exactly at every cut", (_, m) => {
    const docs = makeDocs(150, 0, 200, 11, m.mask);
    const options: PackOptions = { seqLen: 64, batchSize: 3, algorithm: m.algorithm, overlong: m.overlong, windowSize: 16, seed: m.seed };
    expect(checkResume(docs, options, schedule(docs.length, 5))).toBeGreaterThan(15);
  });

  it.each([
    ["dropLast", { dropLast: true }],
    ["no carry-over", { carryOver: false }],
    ["padId 7, batch 1", { padId: 7, batchSize: 1 }],
    ["one big window", { windowSize: 4096 }],
  ] as const)("bfd/ffd/concat with %s resume exactly", (_, extra) => {
    for (const algorithm of ["bfd", "ffd", "concat"] as const) {
      const docs = makeDocs(120, 1, 150, 23, true);
      checkResume(docs, { seqLen: 64, batchSize: 4, algorithm, windowSize: 16, seed: 3, ...extra }, schedule(docs.length, 9));
    }
  });

  it("resumes exactly from a snapshot of a restored packer (chained)", () => {
    const docs = makeDocs(200, 0, 180, 31, true);
    for (const algorithm of ALGORITHMS) {
      const options: PackOptions = { seqLen: 64, batchSize: 2, algorithm, windowSize: 16, seed: 5 };
      const pool = new BufferPool();
      const ops = schedule(docs.length, 2);
      const ref: unknown[] = [];
      const r = new Packer(options);
      for (const op of ops) apply(r, op, docs, ref, pool);
      const out: unknown[] = [];
      let p = new Packer(options);
      for (let c = 0; c < ops.length; c++) {
        if (c % 37 === 0) p = Packer.restore(options, roundTrip(p.snapshot()));
        apply(p, ops[c]!, docs, out, pool);
      }
      expect(out).toEqual(ref);
      expect(p.stats).toEqual(r.stats);
    }
  });

  it("stores each document once and only the tokens pending pieces need", () => {
    // Pad + truncate keeps the first L tokens of a 100k-token document: L + 1 tokens are stored (the
    // extra one is the label of the last kept token).
    const big = new Uint32Array(100_000).map((_, i) => i % 50_000);
    const p = new Packer({ seqLen: 512, batchSize: 2, algorithm: "pad", overlong: "truncate" });
    p.push({ ids: big });
    const s = p.snapshot();
    expect(s.docs).toHaveLength(1);
    expect(s.docs[0]!.length).toBe(513);
    expect(s.docs[0]!.idBytes).toBe(2);
    expect(JSON.stringify(s).length).toBeLessThan(513 * 3 + 1000);

    // bfd splits a document into several pieces; the window holds them all against one stored document.
    const q = new Packer({ seqLen: 100, batchSize: 2, algorithm: "bfd", windowSize: 64 });
    q.push({ ids: new Uint32Array(950).fill(70_000) });
    const t = q.snapshot();
    expect(t.planner.pieces).toHaveLength(10);
    expect(t.docs).toHaveLength(1);
    expect(t.docs[0]!.idBytes).toBe(3);
  });

  it.each([
    [2, [0, 1, 0xffff]],
    [3, [0, 0x10000, 0xffffff]],
    [4, [0, 0x1000000, 0xffffffff]],
  ] as const)("stores ids in %i bytes and restores them exactly", (width, ids) => {
    const doc = { ids: Uint32Array.from(ids), lossMask: Uint8Array.from([0, 1, 255]) };
    const options: PackOptions = { seqLen: 8, batchSize: 1, algorithm: "pad" };
    const p = new Packer(options);
    p.push(doc);
    const s = roundTrip(p.snapshot());
    expect(s.docs[0]!.idBytes).toBe(width);
    const b = Packer.restore(options, s).take()!;
    expect([...b.inputIds.subarray(0, 3)]).toEqual(ids.map((x) => x | 0));
    expect([...b.labels.subarray(0, 3)]).toEqual([ids[1]! | 0, ids[2]! | 0, -100]);
  });
});

/** Bytes of a snapshot's JSON against the tokens its pieces hold. */
function sizeOf(s: PackerSnapshot): { bytes: number; tokens: number } {
  let tokens = 0;
  for (const row of s.ready) for (const p of row) tokens += p.len;
  for (const p of s.planner.pieces) tokens += p.len;
  return { bytes: JSON.stringify(s).length, tokens };
}

describe("snapshot options", () => {
  const base: PackOptions = { seqLen: 64, batchSize: 2, algorithm: "bfd", overlong: "split", windowSize: 16, padId: 0, dropLast: false, carryOver: true };
  const snap = (): PackerSnapshot => {
    const p = new Packer(base);
    for (const d of makeDocs(20, 1, 100, 4)) p.push(d);
    return roundTrip(p.snapshot());
  };

  it("records the resolved options, seed null when unset", () => {
    expect(snap().options).toEqual({ seqLen: 64, batchSize: 2, algorithm: "bfd", overlong: "split", windowSize: 16, padId: 0, dropLast: false, carryOver: true, seed: null });
    const pad = new Packer({ seqLen: 8, batchSize: 1, algorithm: "pad" }).snapshot();
    expect(pad.options).toMatchObject({ overlong: "truncate", windowSize: 0 });
  });

  it.each([
    ["seqLen", { seqLen: 65 }],
    ["batchSize", { batchSize: 3 }],
    ["algorithm", { algorithm: "ffd" }],
    ["overlong", { overlong: "drop" }],
    ["windowSize", { windowSize: 32 }],
    ["padId", { padId: 1 }],
    ["dropLast", { dropLast: true }],
    ["carryOver", { carryOver: false }],
    ["seed", { seed: 0 }],
  ] as const)("refuses a snapshot taken with another %s", (field, change) => {
    const s = snap();
    let err: unknown;
    try {
      Packer.restore({ ...base, ...change }, s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PackOptionsError);
    expect((err as PackOptionsError).context.field).toBe(field);
    expect((err as Error).message).toMatch(new RegExp(`snapshot was taken with ${field} = `));
  });

  it("accepts the same options given differently (defaults spelled out, another pool)", () => {
    const s = snap();
    expect(() => Packer.restore({ seqLen: 64, batchSize: 2, windowSize: 16, pool: new BufferPool() }, s)).not.toThrow();
  });

  it("refuses other versions and malformed snapshots with the field named", () => {
    const fieldOf = (s: unknown): string | undefined => {
      try {
        Packer.restore(base, s as PackerSnapshot);
      } catch (e) {
        expect(e).toBeInstanceOf(PackOptionsError);
        return (e as PackOptionsError).context.field;
      }
      return undefined;
    };
    expect(fieldOf({ ...snap(), version: 2 })).toBe("version");
    expect(fieldOf({ v: 1 })).toBe("version");
    const s = snap();
    s.planner.pieces[0]!.len = 1000;
    expect(fieldOf(s)).toBe("planner.pieces[0]");
    const t = snap();
    t.docs[0]!.ids = t.docs[0]!.ids.slice(0, 8);
    expect(fieldOf(t)).toBe("docs[0].ids");
    const u = snap();
    (u.counters as unknown as Record<string, unknown>)["docs"] = -1;
    expect(fieldOf(u)).toBe("counters.docs");
  });

  it("grows with pending tokens and is tiny once everything is taken", () => {
    const p = new Packer({ seqLen: 128, batchSize: 4, algorithm: "bfd", windowSize: 256 });
    const docs = makeDocs(400, 1, 300, 8).map((d) => ({ ids: d.ids.map((x) => x & 0xffff) }));
    const sizes: { bytes: number; tokens: number }[] = [];
    for (const [i, d] of docs.entries()) {
      p.push(d);
      if (i % 50 === 49) sizes.push(sizeOf(p.snapshot()));
    }
    for (const s of sizes) {
      // 2-byte ids in base64 are 2.7 chars a token; the rest is piece lists and counters.
      expect(s.bytes).toBeLessThan(s.tokens * 3 + 2000 + 40 * (s.tokens / 50));
      expect(s.bytes).toBeGreaterThan(s.tokens * 2.6);
    }
    p.finish();
    while (p.take() !== undefined);
    const end = p.snapshot();
    expect(end.docs).toEqual([]);
    expect(end.ready).toEqual([]);
    expect(end.planner.pieces).toEqual([]);
    expect(JSON.stringify(end).length).toBeLessThan(600);
  });
});

function pairs(file: string, a: string, b: string, limit: number): [string, string][] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, limit)
    .map((l) => {
      const r = JSON.parse(l) as Record<string, string>;
      return [r[a] ?? "", r[b] ?? ""];
    });
}

describe.runIf(hasShared())("snapshot/restore on t0 + gsm8k (gpt2)", () => {
  let docs: TokenizedDoc[] = [];
  let masked: TokenizedDoc[] = [];
  beforeAll(async () => {
    const tok = await loadTokenizer("gpt2");
    const t0 = sharedPath("data", "jsonl", "t0");
    const texts = [
      ...readdirSync(t0)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
        .flatMap((f) => pairs(join(t0, f), "prompt", "completion", 8)),
      ...pairs(sharedPath("data", "jsonl", "gsm8k", "train.jsonl"), "question", "answer", 250),
    ];
    // Prompt tokens are not trained on: a real loss mask (0 for the prompt, 1 for the completion).
    masked = texts.map(([prompt, completion]) => {
      const p = tok.encode(`${prompt}\n`);
      const c = tok.encode(completion);
      const ids = new Uint32Array(p.length + c.length);
      ids.set(p);
      ids.set(c, p.length);
      const lossMask = new Uint8Array(ids.length);
      lossMask.fill(1, p.length);
      return { ids, lossMask };
    });
    docs = masked.map((d) => ({ ids: d.ids }));
    // Shuffle so long t0 documents (cnn_dailymail, multi_news) sit between short gsm8k ones.
    const r = rng(77);
    for (let i = docs.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [docs[i], docs[j]] = [docs[j]!, docs[i]!];
      [masked[i], masked[j]] = [masked[j]!, masked[i]!];
    }
  });

  it("has overlong documents at L=256", () => {
    expect(docs.length).toBeGreaterThan(450);
    expect(docs.filter((d) => d.ids.length > 256).length).toBeGreaterThan(10);
  });

  it.each(MATRIX.map((m) => [label(m), m] as const))("%s resumes exactly at every cut", (_, m) => {
    const options: PackOptions = { seqLen: 256, batchSize: 4, algorithm: m.algorithm, overlong: m.overlong, windowSize: 64, seed: m.seed };
    const input = m.mask ? masked : docs;
    expect(checkResume(input, options, schedule(input.length, 13), 5, 3)).toBeGreaterThan(12);
  });

  it("bfd with the default window (never full here: everything pending until finish) resumes exactly", () => {
    checkResume(masked, { seqLen: 512, batchSize: 8, algorithm: "bfd", seed: 1 }, schedule(masked.length, 21), 4);
  });
});
