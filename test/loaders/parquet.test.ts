import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokpackError } from "../../src/errors.js";
import { createLoader, fileSource, mixLoaders } from "../../loaders/index.js";
import { parquetFooter, readParquetRows, rowGroupStarts } from "../../loaders/parquet.js";
import { hasShared, sharedPath } from "../shared.js";
import { collect, lit, sql, tempDir } from "./helpers.js";

const shared = hasShared();

/** Comparable form of a value from either reader: bytes → hex, bigint → string, Date → ISO. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString("hex")}`;
  if (typeof v === "string") return v;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** String-ish as text: string as is, bytes as UTF-8 (reference decode of duckdb's BLOB bytes). */
function asText(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : v;
}

describe.skipIf(!shared)("parquet-testing files against duckdb", () => {
  const dir = shared ? sharedPath("data/parquet-testing") : "";
  const files = shared ? readdirSync(dir).filter((f) => f.endsWith(".parquet")).sort() : [];

  it("finds the compatibility files", () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  /**
   * duckdb cannot decode the Hadoop LZ4 framing; upstream parquet-testing documents that
   * hadoop_lz4_compressed.parquet holds the same data as lz4_raw_compressed.parquet, so duckdb reads
   * that one as the reference.
   */
  const referenceFile: Record<string, string> = { "hadoop_lz4_compressed.parquet": "lz4_raw_compressed.parquet" };

  it.each(files)("%s: every string/binary column equals duckdb's values", async (f) => {
    const path = join(dir, f);
    const refPath = join(dir, referenceFile[f] ?? f);
    const desc = await sql(`DESCRIBE SELECT * FROM read_parquet(${lit(refPath)})`);
    const cols = desc.filter((d) => /VARCHAR|BLOB/.test(String(d["column_type"]))).map((d) => ({ name: String(d["column_name"]), type: String(d["column_type"]) }));
    if (cols.length === 0) return; // no string/binary column: out of scope
    const src = await fileSource(path);
    try {
      const md = await parquetFooter(src);
      const ours = await readParquetRows(src, md, 0, Number(md.num_rows), cols.map((c) => c.name));
      for (const c of cols) {
        const ref = await sql(`SELECT ${JSON.stringify(c.name)} AS v FROM read_parquet(${lit(refPath)})`);
        expect(ours.map((r) => norm(r[c.name])), `${f} ${c.name}`).toEqual(ref.map((r) => norm(r["v"])));
        if (c.type === "VARCHAR" || c.type === "BLOB") {
          const docs = await collect(createLoader({ sources: path, document: { field: c.name, onNull: "keep" } }));
          expect(docs.map((d) => d.text), `${f} ${c.name} via loader`).toEqual(ref.map((r) => asText(r["v"])));
          expect(docs.map((d) => d.source.row)).toEqual(ref.map((_, i) => i));
        }
      }
    } finally {
      await src.close?.();
    }
  });

  const bad = shared ? readdirSync(join(dir, "bad_data")).sort() : [];
  it.each(bad)("bad_data/%s is rejected with a typed error naming the file", async (f) => {
    const path = join(dir, "bad_data", f);
    const wholeFile = async () => {
      const src = await fileSource(path);
      try {
        const md = await parquetFooter(src);
        await readParquetRows(src, md, 0, Number(md.num_rows), undefined);
      } finally {
        await src.close?.();
      }
    };
    const e1 = await wholeFile().then(() => null, (e: unknown) => e);
    expect(e1).toBeInstanceOf(TokpackError);
    expect((e1 as TokpackError).message).toContain(path);
    const e2 = await collect(createLoader({ sources: path, document: { kind: "text", field: "x" } })).then(() => null, (e: unknown) => e);
    expect(e2).toBeInstanceOf(TokpackError);
    expect((e2 as TokpackError).message).toContain(path);
  });
});

describe("duckdb-written parquet: codecs, row groups, nulls, chat columns", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  const gen = `SELECT i AS id,
      CASE WHEN i % 97 = 0 THEN NULL ELSE 'doc ' || i || ' ' || repeat('ü界😀', (i * 7) % 40) END AS text,
      [{'role': 'user', 'content': 'q' || i}, {'role': 'assistant', 'content': 'a' || i}] AS messages
    FROM range(5000) t(i)`;

  it.each(["snappy", "zstd", "gzip", "uncompressed"])("%s with 700-row groups: text and messages equal duckdb", async (codec) => {
    const path = join(tmp.dir, `t-${codec}.parquet`);
    await sql(`COPY (${gen}) TO ${lit(path)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 700)`);
    const ref = await sql(`SELECT text, messages FROM read_parquet(${lit(path)})`);
    const loader = createLoader({ sources: path, document: { field: "text" } });
    const docs = await collect(loader);
    const want = ref.filter((r) => r["text"] !== null);
    expect(docs.map((d) => d.text)).toEqual(want.map((r) => r["text"]));
    expect(loader.stats().skippedNull).toBe(ref.length - want.length);
    const chats = await collect(createLoader({ sources: path }));
    expect(chats.map((d) => d.messages)).toEqual(ref.map((r) => r["messages"]));
    expect(new Set(chats.map((d) => d.source.shard)).size).toBeGreaterThan(1);
  });

  it.each(["zstd", "gzip", "brotli"])("%s: corrupt page bytes fail with an error naming the file and row group, no hang", async (codec) => {
    const path = join(tmp.dir, `corrupt-${codec}.parquet`);
    await sql(`COPY (SELECT i AS id, repeat('text ' || i || ' ', 40) AS text FROM range(3000) t(i)) TO ${lit(path)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 1000)`);
    const bytes = readFileSync(path);
    // the middle of the file is page data (the footer is at the end)
    for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 32; i++) bytes[i] = bytes[i]! ^ 0xa5;
    const bad = join(tmp.dir, `corrupt-${codec}-flipped.parquet`);
    writeFileSync(bad, bytes);
    const err = (await collect(createLoader({ sources: bad, document: { field: "text" } })).catch((e: unknown) => e)) as TokpackError;
    expect(err, `${codec}: ${String(err)}`).toBeInstanceOf(TokpackError);
    expect(err.context.file).toBe(bad);
    const src = await fileSource(bad);
    const md = await parquetFooter(src).finally(() => src.close?.());
    const starts = rowGroupStarts(md);
    expect(starts.length).toBeGreaterThan(2);
    // the row group whose text column chunk holds the flipped bytes
    const flipped = Math.floor(bytes.length / 2);
    const group = md.row_groups.findIndex((rg) =>
      rg.columns.some((c) => {
        const m = c.meta_data!;
        const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
        return m.path_in_schema[0] === "text" && flipped >= start && flipped < start + Number(m.total_compressed_size);
      }),
    );
    expect(group).toBeGreaterThanOrEqual(0);
    // a row of that row group: its first (decoded whole) or the row reached (zstd text, streamed)
    expect(err.context.row).toBeGreaterThanOrEqual(starts[group]!);
    expect(err.context.row).toBeLessThan(starts[group + 1]!);
  });

  it.each(["zstd", "snappy"])("%s pages of many megabytes land in memory a helper thread prefaults, and equal duckdb's values", async (codec) => {
    const path = join(tmp.dir, `big-pages-${codec}.parquet`);
    // two row groups (~38 and ~11 MB of text), each one page per column chunk
    await sql(`COPY (SELECT i AS id, i || ':' || repeat(chr(CAST(97 + i % 26 AS INTEGER)) || 'ü', 1000 + i % 97) AS text FROM range(16000) t(i)) TO ${lit(path)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 12288)`);
    const src = await fileSource(path);
    const md = await parquetFooter(src);
    const starts = rowGroupStarts(md);
    expect(starts.length).toBe(3);
    const rows = await readParquetRows(src, md, 0, starts[1]!, ["text"], true);
    const view = rows[0]!["text"] as Uint8Array;
    // zstd: a block of the page arena, shared where a helper exists; snappy: the decoder's shared memory
    expect(view.buffer instanceof SharedArrayBuffer).toBe(codec === "snappy" || availableParallelism() >= 2);
    await src.close?.();
    const want = (await sql(`SELECT text FROM read_parquet(${lit(path)})`)).map((r) => r["text"]);
    const got = await collect(createLoader({ sources: path, document: { field: "text" } }));
    expect(got.map((d) => d.text)).toEqual(want);
  });

  it("page memory passed from closed sources to the next: many files, pieces read one loader each, and two loaders interleaved equal duckdb", async () => {
    // row groups of very different page sizes, so a reused page store must grow and shrink its use
    const files: string[] = [];
    for (const [i, [rows, width, codec]] of ([[3000, 400, "snappy"], [500, 3, "snappy"], [6000, 200, "zstd"], [2500, 900, "snappy"]] as const).entries()) {
      const f = join(tmp.dir, `multi-${i}.parquet`);
      await sql(`COPY (SELECT i AS id, ${i} || '-' || i || ' ' || repeat(chr(CAST(97 + i % 26 AS INTEGER)) || 'é', ${width} + i % 7) AS text FROM range(${rows}) t(i)) TO ${lit(f)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 2048)`);
      files.push(f);
    }
    const want: unknown[] = [];
    for (const f of files) for (const r of await sql(`SELECT text FROM read_parquet(${lit(f)})`)) want.push(r["text"]);
    const one = await collect(createLoader({ sources: files, document: { field: "text" } }));
    expect(one.map((d) => d.text)).toEqual(want);
    // a fresh loader per piece, as pipeline workers read
    const planner = createLoader({ sources: files, document: { field: "text" } });
    const pieces = await planner.piecesIn(0);
    const byPiece: unknown[] = [];
    for (let k = 0; k < pieces; k++) {
      const state = await planner.pieceStart(0, k);
      for (const d of await collect(createLoader({ sources: files, document: { field: "text" }, state, stopAtPiece: k + 1 }))) byPiece.push(d.text);
    }
    await planner.close();
    expect(byPiece).toEqual(want);
    // two loaders on this thread at once, each closing files while the other reads
    const mixed = await collect(mixLoaders([{ loader: { sources: files.slice(0, 2), document: { field: "text" } }, weight: 1 }, { loader: { sources: files.slice(2), document: { field: "text" } }, weight: 1 }], { seed: 3 }));
    expect(mixed.map((d) => d.text).sort()).toEqual([...want].sort());
  });

  it("a missing column fails before reading with the file's column list", async () => {
    const path = join(tmp.dir, "t-snappy.parquet");
    const err = (await collect(createLoader({ sources: path, document: { field: "body" } })).catch((e: unknown) => e)) as TokpackError;
    expect(err.code).toBe("ERR_MISSING_FIELD");
    expect(err.message).toContain('"id", "text", "messages"');
  });
});
