/**
 * One text column streamed a value at a time (`parquet-text.ts`), against duckdb reading the same
 * files: duckdb-written v1 pages (zstd, snappy, gzip, uncompressed, dictionary), hyparquet-writer's v2 pages
 * (many pages per row group, required and optional columns, PLAIN and dictionary), a snappy page too
 * large to decode whole, and every text column of the parquet-testing files. Also which columns are
 * streamed at all, row ranges that start and end mid-page, resume, corrupt pages, and two streams
 * mid-page on one thread.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from "parquet-wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoader, type ByteSource } from "../../loaders/index.js";
import { fileSource } from "../../loaders/bytes.js";
import { streamedColumns } from "../../loaders/parquet-columns.js";
import { READ_WINDOW, readTextColumn, streamableTextColumn, WHOLE_CHUNK_MAX, WINDOW_OVERLAP } from "../../loaders/parquet-text.js";
import { zstdDecompressOneShot } from "../../loaders/zstd.js";
import { parquetHeader } from "hyparquet/src/column.js";
import { InputFormatError } from "../../src/errors.js";
import { hasShared, sharedPath } from "../shared.js";
import { collect, drainSource, expectErrorInRowGroup, footer, lit, sql, take, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const ROWS = 3000;
/** Text with nulls, empty strings, multi-byte UTF-8, and a few values far larger than a 128 KiB decode step. */
const VALUES = `SELECT CASE WHEN i % 7 = 3 THEN NULL WHEN i % 11 = 0 THEN '' WHEN i % 997 = 5 THEN repeat('long é漢😀 ' || i::VARCHAR, 40000)
  ELSE repeat(chr((65 + i % 26)::INTEGER) || 'é漢😀 ' || i::VARCHAR, 1 + (i * 37) % 50) END AS text FROM range(${ROWS}) t(i)`;


async function duckValues(file: string, column = "text"): Promise<(string | null)[]> {
  return (await sql(`SELECT ${column} AS v FROM ${lit(file)}`)).map((r) => r["v"] as string | null);
}

async function loaderValues(file: string): Promise<(string | null)[]> {
  return (await collect(createLoader({ sources: file, document: { field: "text", onNull: "keep" } }))).map((d) => d.text ?? null);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Rows [from, to) straight from readTextColumn, decoded as each is yielded. */
async function streamed(file: string, from: number, to: number): Promise<(string | null)[]> {
  const md = await footer(file);
  const col = streamableTextColumn(md, from, to, "text");
  expect(col).toBeDefined();
  return drainSource(file, (src) => readTextColumn(src, md, from, to, col!), (v) => (v === null ? null : decoder.decode(v)));
}

const files: Record<string, string> = {};

beforeAll(async () => {
  for (const [name, opts] of [
    ["zstd", "COMPRESSION zstd"],
    ["plain", "COMPRESSION uncompressed"],
    ["snappy", "COMPRESSION snappy"],
    ["gzip", "COMPRESSION gzip"],
    ["brotli", "COMPRESSION brotli"],
    ["lz4", "COMPRESSION lz4"],
    ["zstd-v2", "COMPRESSION zstd, PARQUET_VERSION V2"],
  ] as const) {
    files[name] = join(tmp.dir, `${name}.parquet`);
    await sql(`COPY (${VALUES}) TO ${lit(files[name]!)} (FORMAT parquet, ROW_GROUP_SIZE 1000, ${opts})`);
  }
  files["dict"] = join(tmp.dir, "dict.parquet");
  await sql(`COPY (SELECT 'label ' || (i % 5)::VARCHAR AS text FROM range(${ROWS}) t(i)) TO ${lit(files["dict"]!)} (FORMAT parquet, COMPRESSION zstd)`);
  files["dict-lz4"] = join(tmp.dir, "dict-lz4.parquet");
  await sql(`COPY (SELECT 'label ' || (i % 5)::VARCHAR AS text FROM range(${ROWS}) t(i)) TO ${lit(files["dict-lz4"]!)} (FORMAT parquet, COMPRESSION lz4, ROW_GROUP_SIZE 1000)`);
  files["dict-snappy"] = join(tmp.dir, "dict-snappy.parquet");
  await sql(
    `COPY (SELECT CASE WHEN i % 9 = 4 THEN NULL ELSE 'label é漢 ' || (i % 300)::VARCHAR END AS text FROM range(${ROWS}) t(i)) TO ${lit(files["dict-snappy"]!)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000)`,
  );
  // prompt (dictionary-encoded) and completion (PLAIN) text columns beside a number
  files["pair"] = join(tmp.dir, "pair.parquet");
  await sql(
    `COPY (SELECT i AS id, 'Question ' || (i % 40)::VARCHAR || ' é漢?' AS prompt, ${VALUES.replace("SELECT ", "").replace(/ FROM range.*$/s, "").replace(" AS text", " AS completion").replace("THEN NULL", "THEN 'none'")} FROM range(${ROWS}) t(i)) TO ${lit(files["pair"]!)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000)`,
  );
  files["two"] = join(tmp.dir, "two.parquet");
  await sql(`COPY (SELECT i AS id, ${VALUES.replace("SELECT ", "").replace(/ FROM range.*$/s, "")} FROM range(${ROWS}) t(i)) TO ${lit(files["two"]!)} (FORMAT parquet, COMPRESSION zstd)`);
  // hyparquet-writer: data pages v2, PLAIN, ~4 KiB pages (many per row group), uncompressed
  const texts = await duckValues(files["zstd"]!);
  const required = texts.map((t, i) => t ?? `filled ${i}`);
  for (const [name, data, nullable] of [
    ["v2-optional", texts, true],
    ["v2-required", required, false],
  ] as const) {
    files[name] = join(tmp.dir, `${name}.parquet`);
    const buf = parquetWriteBuffer({
      columnData: [{ name: "text", data: [...data], type: "STRING", nullable, encoding: "PLAIN" }],
      codec: "UNCOMPRESSED",
      rowGroupSize: 1000,
      pageSize: 4096,
    });
    writeFileSync(files[name]!, new Uint8Array(buf));
  }
  // hyparquet-writer: v2 pages of dictionary indices (a dictionary page per row group), snappy
  const labels = texts.map((t, i) => (t === null ? null : `label ${i % 37} ${t.slice(0, 20)}`));
  files["v2-dict"] = join(tmp.dir, "v2-dict.parquet");
  const buf = parquetWriteBuffer({
    columnData: [{ name: "text", data: labels, type: "STRING", nullable: true, encoding: "RLE_DICTIONARY" }],
    codec: "SNAPPY",
    rowGroupSize: 1000,
    pageSize: 512,
  });
  writeFileSync(files["v2-dict"]!, new Uint8Array(buf));
});

describe("streamableTextColumn", () => {
  it("streams PLAIN, dictionary and delta-encoded text columns, zstd, snappy, gzip, brotli, lz4 or uncompressed; leaves the rest to the whole-row-group reader", async () => {
    expect(streamableTextColumn(await footer(files["zstd"]!), 0, ROWS, "text")).toEqual({ name: "text", optional: true });
    expect(streamedColumns(await footer(files["zstd"]!), 0, ROWS, undefined)).toEqual([{ name: "text", optional: true }]); // a one-column file
    expect(streamableTextColumn(await footer(files["plain"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["v2-required"]!), 0, ROWS, "text")).toEqual({ name: "text", optional: false });
    expect(streamableTextColumn(await footer(files["snappy"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["gzip"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["brotli"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["lz4"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["zstd-v2"]!), 0, ROWS, "text")).toBeDefined(); // duckdb's v2 strings are DELTA_LENGTH_BYTE_ARRAY
    expect(streamableTextColumn(await footer(files["dict"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["v2-dict"]!), 0, ROWS, "text")).toBeDefined();
    expect(streamableTextColumn(await footer(files["two"]!), 0, ROWS, "text")).toBeDefined();
    // a number beside text is read whole; a number alone leaves the piece to the whole-row-group reader
    expect(streamedColumns(await footer(files["two"]!), 0, ROWS, ["text", "id"])).toEqual([
      { name: "text", optional: true },
      { name: "id", whole: true },
    ]);
    expect(streamableTextColumn(await footer(files["two"]!), 0, ROWS, "id")).toBeUndefined(); // not BYTE_ARRAY
    expect(streamedColumns(await footer(files["two"]!), 0, ROWS, ["id"])).toBeUndefined();
    expect(streamedColumns(await footer(files["two"]!), 0, ROWS, undefined)?.length).toBe(2);
    expect(streamedColumns(await footer(files["pair"]!), 0, ROWS, ["prompt", "completion"])).toEqual([
      { name: "prompt", optional: true },
      { name: "completion", optional: true },
    ]);
    expect(streamedColumns(await footer(files["pair"]!), 0, ROWS, undefined)?.map((c) => c.name)).toEqual(["id", "prompt", "completion"]);
  });
});

describe("readTextColumn against duckdb", () => {
  for (const name of ["zstd", "plain", "snappy", "gzip", "brotli", "lz4", "zstd-v2", "v2-optional", "v2-required"]) {
    it(`${name}: every value, null and empty string as duckdb reads them, through the loader`, async () => {
      const ref = await duckValues(files[name]!);
      expect(ref.length).toBe(ROWS);
      expect(ref.some((t) => t !== null && t.length > 300_000)).toBe(true);
      const got = await loaderValues(files[name]!);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) if (got[i] !== ref[i]) expect({ row: i, got: got[i] }).toEqual({ row: i, got: ref[i] });
    });
  }

  for (const name of ["dict", "dict-snappy", "dict-lz4", "v2-dict"]) {
    it(`${name}: dictionary-encoded values, as duckdb reads them, through the loader`, async () => {
      const md = await footer(files[name]!);
      const chunk = md.row_groups[0]!.columns[0]!.meta_data!;
      expect(chunk.dictionary_page_offset).toBeDefined(); // the file really is dictionary-encoded
      expect(chunk.encodings.some((e) => e.endsWith("_DICTIONARY"))).toBe(true);
      const ref = await duckValues(files[name]!);
      expect(ref.length).toBe(ROWS);
      expect(await loaderValues(files[name]!)).toEqual(ref);
      expect(await streamed(files[name]!, 995, 2011)).toEqual(ref.slice(995, 2011));
    });
  }

  it("a document from two streamed columns (a template; a prompt and a completion) is built as from duckdb's rows", async () => {
    const file = files["pair"]!;
    const md = await footer(file);
    const encodings = md.row_groups[0]!.columns.map((c) => c.meta_data!.encodings.join(","));
    expect(encodings[1]).toMatch(/DICTIONARY/); // prompt
    expect(encodings[2]).not.toMatch(/DICTIONARY/); // completion
    const ref = await sql(`SELECT prompt, completion FROM ${lit(file)}`);
    const templated = (await collect(createLoader({ sources: file, document: { template: "{prompt}\n\n{completion}" } }))).map((d) => d.text);
    expect(templated).toEqual(ref.map((r) => `${String(r["prompt"])}\n\n${String(r["completion"])}`));
    const pairs = (await collect(createLoader({ sources: file, document: { kind: "prompt_completion" } }))).map((d) => [d.prompt, d.completion]);
    expect(pairs).toEqual(ref.map((r) => [r["prompt"], r["completion"]]));
    // resumed mid-piece: the next row, both columns
    const opts = { sources: file, document: { kind: "prompt_completion" as const } };
    const a = createLoader(opts);
    const first = await take(a, 1501);
    const state = a.state();
    await a.close();
    const rest = await collect(createLoader({ ...opts, state }));
    expect([...first, ...rest].map((d) => [d.prompt, d.completion])).toEqual(pairs);
  });

  it("a template over text and numbers: the text streamed, the numbers read whole beside it, documents as from duckdb's rows, resumed mid-piece", async () => {
    const file = join(tmp.dir, "text-and-numbers.parquet");
    const text = VALUES.replace("SELECT ", "").replace(/ FROM range.*$/s, "");
    await sql(
      `COPY (SELECT i::INTEGER AS n32, i * 1000000007 AS n64, i / 7 AS d, i % 3 = 0 AS flag, CASE WHEN i % 5 = 0 THEN NULL ELSE i END AS maybe, ${text} FROM range(${ROWS}) t(i)) TO ${lit(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000)`,
    );
    const numbers = ["n32", "n64", "d", "flag", "maybe"];
    expect(streamedColumns(await footer(file), 0, ROWS, [...numbers, "text"])).toEqual([...numbers.map((name) => ({ name, whole: true })), { name: "text", optional: true }]);
    const template = `${numbers.map((n) => `{${n}}`).join("|")}|{text}`;
    const ref = (await sql(`SELECT ${numbers.join(", ")}, text FROM ${lit(file)}`)).map((r) => [...numbers, "text"].map((n) => (r[n] === null ? "" : String(r[n]))).join("|"));
    expect(ref[1]).toBe(`1|1000000007|${1 / 7}|false|1|${String((await duckValues(file))[1])}`);
    const opts = { sources: file, document: { template } };
    const docs = (await collect(createLoader(opts))).map((d) => d.text);
    expect(docs).toEqual(ref);
    const a = createLoader(opts);
    const first = await take(a, 1234);
    const state = a.state();
    await a.close();
    const rest = await collect(createLoader({ ...opts, state }));
    expect([...first, ...rest].map((d) => d.text)).toEqual(ref);
  });

  it("two-column file, one column asked for: the same values as duckdb's", async () => {
    expect(await loaderValues(files["two"]!)).toEqual(await duckValues(files["two"]!));
  });

  it("row ranges starting and ending mid-page and mid-row-group, across row groups", async () => {
    for (const name of ["zstd", "v2-optional"]) {
      const ref = await duckValues(files[name]!);
      for (const [from, to] of [
        [0, 1],
        [17, 403],
        [999, 1001],
        [2040, 2050],
        [1500, 2999],
        [2500, ROWS],
      ] as const) {
        expect(await streamed(files[name]!, from, to)).toEqual(ref.slice(from, to));
      }
    }
  });

  it("a loader state taken mid-piece resumes on the next row", async () => {
    const ref = await duckValues(files["v2-optional"]!);
    const opts = { sources: files["v2-optional"]!, document: { field: "text", onNull: "keep" as const } };
    const a = createLoader(opts);
    const first = await take(a, 1234);
    const state = a.state();
    await a.close();
    const rest = await collect(createLoader({ ...opts, state }));
    expect([...first, ...rest].map((d) => d.text ?? null)).toEqual(ref);
  });

  it("two streams mid-page on one thread do not disturb each other", async () => {
    const za = files["zstd"]!;
    const refs = [await duckValues(za), await duckValues(files["two"]!)];
    const mds = [await footer(za), await footer(files["two"]!)];
    const srcs = [await fileSource(za), await fileSource(files["two"]!)];
    const its = mds.map((md, k) => readTextColumn(srcs[k]!, md, 0, ROWS, streamableTextColumn(md, 0, ROWS, "text")!)[Symbol.asyncIterator]());
    const got: (string | null)[][] = [[], []];
    for (let i = 0; i < ROWS; i++) {
      for (let k = 0; k < 2; k++) {
        const r = await its[k]!.next();
        got[k]!.push(r.done === true || r.value === null ? null : decoder.decode(r.value));
      }
    }
    for (const s of srcs) await s.close?.();
    expect(got[0]).toEqual(refs[0]);
    expect(got[1]).toEqual(refs[1]);
  });
});

describe("readTextColumn on a snappy page too large to decode whole", () => {
  it("decodes a ~20 MB duckdb snappy page a step at a time, every value as duckdb reads it", async () => {
    const file = join(tmp.dir, "big-snappy-page.parquet");
    await sql(
      `COPY (SELECT CASE WHEN i % 13 = 2 THEN NULL ELSE repeat(md5(i::VARCHAR) || ' é漢😀 ', 1 + (i * 7) % 300) END AS text FROM range(4000) t(i)) TO ${lit(file)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 100000)`,
    );
    const md = await footer(file);
    expect(md.row_groups.length).toBe(1);
    expect(Number(md.row_groups[0]!.columns[0]!.meta_data!.total_uncompressed_size)).toBeGreaterThan(16 << 20);
    const ref = await duckValues(file);
    expect(await streamed(file, 0, 4000)).toEqual(ref);
    expect(await streamed(file, 1777, 3001)).toEqual(ref.slice(1777, 3001));
  });
});

describe("readTextColumn on column chunks larger than it reads whole (WHOLE_CHUNK_MAX)", () => {
  it("reads a ~38 MB page a window (READ_WINDOW) at a time, the next read while one is decoded (snappy stepped, gzip, lz4, uncompressed), every value as duckdb reads it", async () => {
    // hex digits: snappy barely compresses them, so the compressed page is as large as the text
    const values = `SELECT CASE WHEN i % 17 = 5 THEN NULL ELSE (SELECT string_agg(md5((i * 1000 + j)::VARCHAR), '') FROM range(1 + (i * 37) % 600) t2(j)) END AS text FROM range(4000) t(i)`;
    for (const codec of ["snappy", "gzip", "lz4", "uncompressed"]) {
      const file = join(tmp.dir, `big-chunk-${codec}.parquet`);
      await sql(`COPY (${values}) TO ${lit(file)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 100000)`);
      const md = await footer(file);
      const chunk = md.row_groups[0]!.columns[0]!.meta_data!;
      expect(Number(chunk.total_compressed_size)).toBeGreaterThan(4 * WHOLE_CHUNK_MAX);
      const ref = await duckValues(file);
      const base = await fileSource(file);
      const reads: number[] = [];
      const got: (string | null)[] = [];
      // values handed out while each read was on its way: none when reads start only once needed
      const yieldedDuring: number[] = [];
      const src: ByteSource = {
        name: base.name,
        byteLength: base.byteLength,
        slice: (a, b) => {
          reads.push((b ?? base.byteLength) - a);
          const at = got.length;
          return base.slice(a, b).then((r) => (yieldedDuring.push(got.length - at), r));
        },
      };
      try {
        for await (const v of readTextColumn(src, md, 0, 4000, streamableTextColumn(md, 0, 4000, "text")!)) got.push(v === null ? null : decoder.decode(v));
      } finally {
        await base.close?.();
      }
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) if (got[i] !== ref[i]) expect({ codec, row: i, got: got[i]?.length }).toEqual({ codec, row: i, got: ref[i]?.length });
      expect(Math.max(...reads)).toBeLessThanOrEqual(READ_WINDOW + WINDOW_OVERLAP);
      // each byte read once, but the few KiB each window shares with the one before
      expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(Number(chunk.total_compressed_size) * (1.01 + WINDOW_OVERLAP / READ_WINDOW));
      // the next window was read while one was decoded. Counted where decoding is synchronous (a read
      // then resolves only when the reader waits for it); gzip's decoder awaits node:zlib, which lets
      // reads resolve at any time
      if (codec !== "gzip") expect(yieldedDuring.filter((n) => n > 0).length, codec).toBeGreaterThanOrEqual(yieldedDuring.length / 2);
    }
  });
});

describe("readTextColumn on files written by arrow-rs (parquet-wasm): a dictionary that fills, then PLAIN or DELTA_BYTE_ARRAY pages", () => {
  // arrow-rs, like pyarrow's parquet-cpp, dictionary-encodes a string column until its dictionary
  // page reaches a size limit, then writes the rest of the column chunk as PLAIN pages
  const rows = 12_000;
  const texts = Array.from({ length: rows }, (_, i) =>
    i % 11 === 3 ? null : i % 2500 === 7 ? `long ${i} ${"é漢😀 ".repeat(30_000)}` : i < 3000 ? `label ${i % 60}` : `unique ${i} é漢 ${"x".repeat(i % 97)}`,
  );
  for (const [name, version, codec, fallback] of [
    ["v1 pages, snappy", WriterVersion.V1, Compression.SNAPPY, "PLAIN"],
    ["v2 pages, zstd", WriterVersion.V2, Compression.ZSTD, "DELTA_BYTE_ARRAY"], // v2 falls back to prefix deltas
    ["v1 pages, uncompressed", WriterVersion.V1, Compression.UNCOMPRESSED, "PLAIN"],
    ["v1 pages, LZ4 (Hadoop-framed)", WriterVersion.V1, Compression.LZ4, "PLAIN"],
    ["v2 pages, LZ4_RAW", WriterVersion.V2, Compression.LZ4_RAW, "DELTA_BYTE_ARRAY"],
  ] as const) {
    // duckdb reads no Hadoop-framed LZ4: that file is checked against the values written
    it(`${name}: every value as ${codec === Compression.LZ4 ? "written" : "duckdb reads it"}, streamed`, async () => {
      const file = join(tmp.dir, `arrow-rs-${name.replace(/\W+/g, "-")}.parquet`);
      const table = WasmTable.fromIPCStream(tableToIPC(tableFromArrays({ text: texts }), "stream"));
      const props = new WriterPropertiesBuilder()
        .setWriterVersion(version)
        .setCompression(codec)
        .setDictionaryEnabled(true)
        .setDictionaryPageSizeLimit(4096)
        .setDataPageSizeLimit(8192)
        .setMaxRowGroupSize(5000)
        .build();
      writeFileSync(file, writeParquet(table, props));
      const md = await footer(file);
      // the first row group really mixes dictionary data pages and the fallback's
      const stats = md.row_groups[0]!.columns[0]!.meta_data!.encoding_stats ?? [];
      const dataEncodings = new Set(stats.filter((s) => s.page_type !== "DICTIONARY_PAGE").map((s) => s.encoding));
      expect([...dataEncodings].sort()).toEqual([fallback, "RLE_DICTIONARY"].sort());
      expect(streamableTextColumn(md, 0, rows, "text")).toEqual({ name: "text", optional: true });
      const ref = codec === Compression.LZ4 ? texts : await duckValues(file);
      expect(ref.length).toBe(rows);
      expect(await streamed(file, 0, rows)).toEqual(ref);
      expect(await streamed(file, 2990, 7012)).toEqual(ref.slice(2990, 7012));
      expect(await loaderValues(file)).toEqual(ref);
    });
  }
});

describe.skipIf(!hasShared())("readTextColumn on the parquet-testing files", () => {
  it("every text column it streams gives duckdb's values (parquet-mr, Impala, pyarrow, arrow-rs writers)", async () => {
    const dir = sharedPath("data/parquet-testing");
    let columns = 0;
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".parquet"))) {
      const file = join(dir, name);
      const md = await footer(file);
      const rows = Number(md.num_rows);
      for (const el of md.schema.slice(1)) {
        const col = streamableTextColumn(md, 0, rows, el.name);
        if (col === undefined) continue;
        columns++;
        const text = el.converted_type === "UTF8" || el.logical_type?.type === "STRING";
        // duckdb reads no Hadoop-framed LZ4; parquet-testing documents that file as holding lz4_raw's data
        const refFile = name === "hadoop_lz4_compressed.parquet" ? join(dir, "lz4_raw_compressed.parquet") : file;
        const ref = await sql(`SELECT ${text ? `encode(${JSON.stringify(el.name)})` : JSON.stringify(el.name)} AS v FROM ${lit(refFile)}`); // its bytes
        const src = await fileSource(file);
        const got: (string | null)[] = [];
        try {
          for await (const v of readTextColumn(src, md, 0, rows, col)) got.push(v === null ? null : Buffer.from(v).toString("hex"));
        } finally {
          await src.close?.();
        }
        const want = ref.map((r) => (r["v"] === null ? null : Buffer.from(r["v"] as Uint8Array).toString("hex")));
        expect({ file: name, column: el.name, values: got }).toEqual({ file: name, column: el.name, values: want });
      }
    }
    expect(columns).toBeGreaterThanOrEqual(7);
    for (const name of ["hadoop_lz4_compressed.parquet", "lz4_raw_compressed.parquet"]) {
      const md = await footer(join(dir, name));
      expect(streamableTextColumn(md, 0, Number(md.num_rows), "c1"), name).toBeDefined();
    }
  });
});

describe("readTextColumn's reads", () => {
  it("reads each column chunk of up to WHOLE_CHUNK_MAX once, in one request (read-ahead fetched exactly that range)", async () => {
    // two ~2.6 MB uncompressed chunks
    const file = join(tmp.dir, "three-mb-chunks.parquet");
    await sql(`COPY (SELECT repeat(md5(i::VARCHAR), 40) AS text FROM range(4096) t(i)) TO ${lit(file)} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 2048)`);
    const md = await footer(file);
    const sizes = md.row_groups.map((rg) => Number(rg.columns[0]!.meta_data!.total_compressed_size));
    expect(sizes.length).toBe(2);
    expect(sizes.every((n) => n > WHOLE_CHUNK_MAX / 2 && n <= WHOLE_CHUNK_MAX)).toBe(true);
    const base = await fileSource(file);
    const reads: [number, number][] = [];
    const src: ByteSource = { name: base.name, byteLength: base.byteLength, slice: (a, b) => (reads.push([a, b ?? base.byteLength]), base.slice(a, b)) };
    let n = 0;
    for await (const v of readTextColumn(src, md, 0, 4096, streamableTextColumn(md, 0, 4096, "text")!)) if (v !== null) n++;
    await base.close?.();
    expect(n).toBe(4096);
    expect(reads.map(([a, b]) => b - a)).toEqual(sizes);
  });
});

describe("readTextColumn while the decoder's memory grows", () => {
  it("a stream mid-page reads on correctly after another page grew the WebAssembly memory under its step", async () => {
    // a ~30 MB zstd page, decoded in one shot: its scratch region makes the instance's memory grow
    const big = join(tmp.dir, "one-big-page.parquet");
    await sql(`COPY (SELECT repeat(md5(i::VARCHAR), 60) AS text FROM range(15000) t(i)) TO ${lit(big)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 20000)`);
    const chunk = (await footer(big)).row_groups[0]!.columns[0]!.meta_data!;
    const bytes = readFileSync(big);
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset + Number(chunk.data_page_offset)), offset: 0 };
    const header = parquetHeader(reader);
    const page = new Uint8Array(bytes.buffer, bytes.byteOffset + Number(chunk.data_page_offset) + reader.offset, header.compressed_page_size);
    expect(header.uncompressed_page_size).toBeGreaterThan(25 << 20);

    const file = files["zstd"]!;
    const ref = await duckValues(file);
    const md = await footer(file);
    const src = await fileSource(file);
    const it = readTextColumn(src, md, 0, ROWS, streamableTextColumn(md, 0, ROWS, "text")!)[Symbol.asyncIterator]();
    const got: (string | null)[] = [];
    const next = async (): Promise<boolean> => {
      const r = await it.next();
      if (r.done === true) return false;
      got.push(r.value === null ? null : decoder.decode(r.value));
      return true;
    };
    for (let i = 0; i < 5; i++) await next(); // mid-way through the first page's first step
    const out = zstdDecompressOneShot(page, new Uint8Array(header.uncompressed_page_size));
    expect(out.byteLength).toBe(header.uncompressed_page_size);
    while (await next());
    await src.close?.();
    expect(got).toEqual(ref);
  });
});

describe("readTextColumn on corrupt files", () => {
  for (const codec of ["zstd", "lz4"]) {
    it(`a damaged ${codec} page is an InputFormatError naming the file, column and row`, async () => {
      const bytes = new Uint8Array(readFileSync(files[codec]!));
      const md = await footer(files[codec]!);
      const chunk = md.row_groups[1]!.columns[0]!.meta_data!;
      // overwrite the middle of row group 1's compressed page
      const mid = Number(chunk.data_page_offset) + Math.floor(Number(chunk.total_compressed_size) / 2);
      bytes.fill(0xff, mid, mid + 64);
      const bad = join(tmp.dir, `bad-${codec}.parquet`);
      writeFileSync(bad, bytes);
      expectErrorInRowGroup(await loaderValues(bad).catch((e: unknown) => e), bad, "text", md, 1);
    });
  }

  it("damaged dictionary indices are an InputFormatError naming the file, column and a row of that row group", async () => {
    const file = join(tmp.dir, "dict-plain.parquet");
    await sql(`COPY (SELECT 'label ' || (i % 5)::VARCHAR AS text FROM range(${ROWS}) t(i)) TO ${lit(file)} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 1000)`);
    const md = await footer(file);
    expect(md.row_groups.length).toBe(2);
    const chunk = md.row_groups[1]!.columns[0]!.meta_data!;
    expect(chunk.encodings.some((e) => e.endsWith("_DICTIONARY"))).toBe(true);
    // the page ends in its bit-packed indices (the last group padded): all ones point past the
    // 5-value dictionary
    const end = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset) + Number(chunk.total_compressed_size);
    const bytes = new Uint8Array(readFileSync(file));
    bytes.fill(0xff, end - 116, end - 100);
    const bad = join(tmp.dir, "bad-dict.parquet");
    writeFileSync(bad, bytes);
    const err = await loaderValues(bad).catch((e: unknown) => e);
    expectErrorInRowGroup(err, bad, "text", md, 1); // duckdb's row groups: 2048 rows, then the rest
    expect((err as Error).message).toMatch(/dictionary|end early/);
  });

  it("a file cut inside its pages (zeros up to the footer) is an InputFormatError, not a hang or a short read", async () => {
    const bytes = new Uint8Array(readFileSync(files["v2-optional"]!));
    const md = await footer(files["v2-optional"]!);
    const chunk = md.row_groups[0]!.columns[0]!.meta_data!;
    // cut the file inside row group 0's pages: keep the footer so it still opens
    const start = Number(chunk.data_page_offset);
    const cut = start + Math.floor(Number(chunk.total_compressed_size) / 3);
    const footerLen = new DataView(bytes.buffer).getUint32(bytes.byteLength - 8, true) + 8;
    const damaged = new Uint8Array(bytes.byteLength);
    damaged.set(bytes.subarray(0, cut));
    damaged.set(bytes.subarray(bytes.byteLength - footerLen), bytes.byteLength - footerLen); // zeros between
    const bad = join(tmp.dir, "bad-cut.parquet");
    writeFileSync(bad, damaged);
    const err = await loaderValues(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as InputFormatError).context).toMatchObject({ file: bad, field: "text" });
  });
});
