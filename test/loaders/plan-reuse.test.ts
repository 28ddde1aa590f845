import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLoader } from "../../loaders/index.js";
import { collect, tempDir } from "./helpers.js";

describe("reusePlan: piece readers plan once per thread", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const files = Array.from({ length: 6 }, (_, f) => {
    const path = join(tmp.dir, `part-${f}.jsonl`);
    writeFileSync(path, Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `file ${f} line ${i}` })).join("\n") + "\n");
    return path;
  });

  it("reads each piece with the plan already made, without opening the other files again", async () => {
    const planner = createLoader({ sources: files });
    const want = (await collect(createLoader({ sources: files }))).map((d) => d.text);
    const n = await planner.piecesIn(0);
    expect(n).toBe(files.length);
    const got: unknown[] = [];
    // the first piece reader plans (and keeps the plan); then every other file but the one a piece
    // reads is moved away while it is read: planning again would fail on the missing files
    const starts = await Promise.all(Array.from({ length: n }, (_, k) => planner.pieceStart(0, k)));
    for (const d of await collect(createLoader({ sources: files, state: starts[0]!, stopAtPiece: 1, reusePlan: true }))) got.push(d.text);
    for (let k = 1; k < n; k++) {
      const others = files.filter((_, f) => f !== k);
      for (const f of others) renameSync(f, `${f}.away`);
      try {
        for (const d of await collect(createLoader({ sources: files, state: starts[k]!, stopAtPiece: k + 1, reusePlan: true }))) got.push(d.text);
      } finally {
        for (const f of others) renameSync(`${f}.away`, f);
      }
    }
    expect(got).toEqual(want);
    // without reusePlan the same piece reader plans again, and fails on a missing file
    renameSync(files[0]!, `${files[0]!}.away`);
    try {
      await expect(collect(createLoader({ sources: files, state: starts[1]!, stopAtPiece: 2 }))).rejects.toThrow(/part-0\.jsonl/);
    } finally {
      renameSync(`${files[0]!}.away`, files[0]!);
    }
    await planner.close();
  });

  it("plans again when the state comes from another plan of the same sources", async () => {
    const before = createLoader({ sources: files, pieceBytes: 64 });
    const s0 = await before.pieceStart(0, 0);
    await collect(createLoader({ sources: files, pieceBytes: 64, state: s0, stopAtPiece: 1, reusePlan: true })); // cached
    appendFileSync(files[2]!, Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `more ${i}` })).join("\n") + "\n");
    const after = createLoader({ sources: files, pieceBytes: 64 });
    const n = await after.piecesIn(0);
    expect(n).toBeGreaterThan(await before.piecesIn(0)); // the grown file has more byte-range pieces
    const got: unknown[] = [];
    for (let k = 0; k < n; k++) {
      for (const d of await collect(createLoader({ sources: files, pieceBytes: 64, state: await after.pieceStart(0, k), stopAtPiece: k + 1, reusePlan: true }))) got.push(d.text);
    }
    expect(got).toEqual((await collect(createLoader({ sources: files, pieceBytes: 64 }))).map((d) => d.text));
    await before.close();
    await after.close();
  });
});
