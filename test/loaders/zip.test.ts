import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceError } from "../../src/errors.js";
import { createLoader } from "../../loaders/index.js";
import { collect, lit, referenceJsonl, sql, tempDir, writeZip } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let jsonl: Buffer;
let parquet: Buffer;
let parquetRef: string[];

beforeAll(async () => {
  tmp = tempDir();
  jsonl = Buffer.from(Array.from({ length: 2500 }, (_, i) => JSON.stringify({ text: `z${i} ${"ж".repeat(i % 30)}` })).join("\n") + "\n");
  const pq = join(tmp.dir, "src.parquet");
  await sql(`COPY (SELECT 'r' || i || repeat('y', i % 9) AS text FROM range(1800) t(i)) TO ${lit(pq)} (FORMAT parquet, ROW_GROUP_SIZE 500, COMPRESSION zstd)`);
  parquet = readFileSync(pq);
  parquetRef = (await sql(`SELECT text FROM read_parquet(${lit(pq)})`)).map((r) => String(r["text"]));
  writeZip(join(tmp.dir, "a.zip"), [
    { name: "data/stored.jsonl", data: jsonl, method: 0 },
    { name: "data/deflated.jsonl", data: jsonl, method: 8 },
    { name: "pq/stored.parquet", data: parquet, method: 0 },
    { name: "pq/deflated.parquet", data: parquet, method: 8 },
    { name: "README.txt", data: Buffer.from("not data"), method: 8 },
  ]);
});
afterAll(() => tmp.cleanup());

describe("zip archives", () => {
  it("stored and deflated jsonl entries stream without extraction", async () => {
    const ref = referenceJsonl(jsonl.toString("utf8")).map((r) => r["text"]);
    const archive = join(tmp.dir, "a.zip");
    const docs = await collect(createLoader({ sources: `zip:${archive}!/data/*.jsonl` }));
    expect(docs.map((d) => d.text)).toEqual([...ref, ...ref]); // entries in name order: deflated, stored
    expect(docs[0]!.source.file).toBe(`zip:${archive}!/data/deflated.jsonl`);
    expect(docs[ref.length]!.source).toMatchObject({ file: `zip:${archive}!/data/stored.jsonl`, line: 1 });
  });

  it("stored and deflated parquet entries equal duckdb's read of the same file", async () => {
    const docs = await collect(createLoader({ sources: `zip:${join(tmp.dir, "a.zip")}!/pq/*.parquet` }));
    expect(docs.map((d) => d.text)).toEqual([...parquetRef, ...parquetRef]);
  });

  it("a bare archive path reads every entry of a known format; entries shard across ranks", async () => {
    const archive = join(tmp.dir, "a.zip");
    const all = await collect(createLoader({ sources: archive }));
    expect(all.length).toBe(2 * 2500 + 2 * 1800);
    const per = await Promise.all([0, 1, 2].map((rank) => collect(createLoader({ sources: archive, rank, worldSize: 3, pieceBytes: 8192 }))));
    const key = (d: { text?: string | null; source: { file: string } }) => `${d.source.file}|${d.text}`;
    expect(per.flat().map(key).sort()).toEqual(all.map(key).sort());
  });

  it("a truncated archive is a SourceError naming the archive and where it ends", async () => {
    const full = readFileSync(join(tmp.dir, "a.zip"));
    const cut = join(tmp.dir, "cut.zip");
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    const err = (await collect(createLoader({ sources: `zip:${cut}!/data/*.jsonl` })).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.context).toMatchObject({ file: cut, offset: Math.floor(full.length / 2) });
  });

  it("a corrupt deflated entry is a SourceError naming the entry and the byte offset", async () => {
    const bad = join(tmp.dir, "bad.zip");
    writeZip(bad, [{ name: "x.jsonl", data: jsonl, method: 8 }]);
    const bytes = readFileSync(bad);
    const dataStart = 30 + "x.jsonl".length;
    for (let i = dataStart + 200; i < dataStart + 260; i++) bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(bad, bytes);
    const err = (await collect(createLoader({ sources: `zip:${bad}!/x.jsonl` })).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.context.file).toBe(`zip:${bad}!/x.jsonl`);
    expect(typeof err.context.offset).toBe("number");
  });
});
