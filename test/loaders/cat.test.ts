import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/errors.js";
import { runCat } from "../../src/cli/cat.js";
import { lit, sql, tempDir } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
const rows = Array.from({ length: 500 }, (_, i) => ({ q: `question ${i}`, a: i % 10 === 0 ? null : `answer "${i}"` }));

beforeAll(async () => {
  tmp = tempDir();
  writeFileSync(join(tmp.dir, "qa.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await sql(`COPY (SELECT * FROM read_json(${lit(join(tmp.dir, "qa.jsonl"))})) TO ${lit(join(tmp.dir, "qa.parquet"))} (FORMAT parquet, ROW_GROUP_SIZE 64)`);
});
afterAll(() => tmp.cleanup());

/** Runs `tokpack cat` with stdout/stderr captured. */
async function cat(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await runCat(argv);
    return { code, out: out.split("\n").filter((l) => l !== ""), err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe("tokpack cat", () => {
  it("prints the selected field's string or null, one JSON value per line, for jsonl and parquet", async () => {
    const want = rows.map((r) => JSON.stringify(r.a));
    for (const f of ["qa.jsonl", "qa.parquet"]) {
      const r = await cat([join(tmp.dir, f), "--field", "a"]);
      expect(r.code).toBe(0);
      expect(r.out, f).toEqual(want);
    }
  });

  it("--template with shell escapes, --limit", async () => {
    const r = await cat([join(tmp.dir, "qa.jsonl"), "--template", "{q}\\n{a}", "--limit", "3"]);
    expect(r.out).toEqual(rows.slice(0, 3).map((x) => JSON.stringify(`${x.q}\n${x.a ?? ""}`)));
  });

  it("--rank/--world-size split the stream disjointly and completely; --shuffle-seed is reproducible", async () => {
    const parts = [];
    for (let rank = 0; rank < 3; rank++) parts.push((await cat([join(tmp.dir, "qa.parquet"), "--field", "q", "--rank", String(rank), "--world-size", "3"])).out);
    expect(parts.flat().sort()).toEqual(rows.map((r) => JSON.stringify(r.q)).sort());
    const s1 = await cat([join(tmp.dir, "qa.jsonl"), "--field", "q", "--shuffle-seed", "42"]);
    const s2 = await cat([join(tmp.dir, "qa.jsonl"), "--field", "q", "--shuffle-seed", "42"]);
    expect(s1.out).toEqual(s2.out);
    expect(s1.out).not.toEqual(rows.map((r) => JSON.stringify(r.q)));
  });

  it("--skip-bad reports the count on stderr; bad flags are usage errors", async () => {
    const bad = join(tmp.dir, "bad.jsonl");
    writeFileSync(bad, '{"text":"a"}\n{nope\n{"text":"b"}\n');
    const r = await cat([bad, "--skip-bad"]);
    expect(r.out).toEqual(['"a"', '"b"']);
    expect(r.err).toMatch(/skipped 1 malformed record/);
    await expect(cat([bad])).rejects.toThrow(/line 2/);
    await expect(cat([bad, "--rank", "1"])).rejects.toBeInstanceOf(UsageError);
    await expect(cat([])).rejects.toBeInstanceOf(UsageError);
  });
});
