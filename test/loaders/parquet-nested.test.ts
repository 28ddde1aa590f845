/**
 * Nested text columns streamed a row at a time (`parquet-nested.ts`), against duckdb reading the same
 * files: chat columns (`list<struct<role, content>>`) with null lists, empty lists, null turns and
 * null fields, values larger than a decode step, in every codec, data pages v1 and v2; structs with
 * lists inside, lists of lists; files written by arrow-rs (parquet-wasm) and the parquet-testing
 * files. Also ShareGPT conversations through the loader against the same data as JSONL, row ranges
 * and resume, and a damaged page.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FileMetaData } from "hyparquet";
import { Field, List, Struct, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from "parquet-wasm/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLoader, type ByteSource } from "../../loaders/index.js";
import { fileSource } from "../../loaders/bytes.js";
import { streamedChunkBytes } from "../../loaders/parquet-text.js";
import { ReadAhead } from "../../loaders/readahead.js";
import { topLevelColumns } from "../../loaders/parquet.js";
import { isNested, readStreamedColumns, streamedColumns } from "../../loaders/parquet-columns.js";
import { InputFormatError } from "../../src/errors.js";
import { hasShared, sharedPath } from "../shared.js";
import { collect, drainSource, expectErrorInRowGroup, footer, lit, sql, take, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const ROWS = 3000;

/** A turn's text: multi-byte UTF-8, nulls, and now and then a value far larger than a 128 KiB decode step. */
const CONTENT = `CASE WHEN (i + k) % 29 = 4 THEN NULL WHEN (i * 7 + k) % 997 = 5 THEN repeat('long é漢😀 ' || i::VARCHAR, 40000)
  ELSE repeat(chr((65 + (i + k) % 26)::INTEGER) || 'é漢😀 ' || i::VARCHAR, 1 + ((i + k) * 37) % 50) END`;
/** Conversations of 0–4 turns; null conversations, null turns, null roles. */
const CHAT = `SELECT CASE WHEN i % 13 = 5 THEN NULL WHEN i % 17 = 3 THEN [] ELSE list_transform(range(1 + i % 5), k -> CASE WHEN (i + k) % 23 = 7 THEN NULL
  ELSE {'role': CASE WHEN (i + k) % 19 = 2 THEN NULL WHEN k % 2 = 0 THEN 'user' ELSE 'assistant' END, 'content': ${CONTENT}} END) END AS messages
  FROM range(${ROWS}) t(i)`;


const decoder = new TextDecoder("utf-8", { fatal: true });

/** A streamed value with its text decoded, to compare with duckdb's. */
function decoded(v: unknown): unknown {
  if (v instanceof Uint8Array) return decoder.decode(v);
  if (Array.isArray(v)) return v.map(decoded);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decoded(x)]));
  return v;
}

/** Rows [from, to) of `columns` as duckdb reads them. */
async function duckRows(file: string, columns: readonly string[], from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Record<string, unknown>[]> {
  const rows = await sql(`SELECT ${columns.map((c) => JSON.stringify(c)).join(", ")} FROM ${lit(file)}`);
  return rows.slice(from, to);
}

/** Rows [from, to) of `columns`, streamed (each must be), text decoded. */
async function streamedRows(file: string, columns: readonly string[] | undefined, from?: number, to?: number): Promise<Record<string, unknown>[]> {
  const md = await footer(file);
  const start = from ?? 0;
  const end = to ?? Number(md.num_rows);
  const cols = streamedColumns(md, start, end, columns);
  expect(cols, `${file} ${String(columns)} streamed`).toBeDefined();
  return drainSource(file, (src) => readStreamedColumns(src, md, start, end, cols!), (rec) => decoded(rec) as Record<string, unknown>);
}

const files: Record<string, string> = {};

beforeAll(async () => {
  for (const [name, opts] of [
    ["snappy", "COMPRESSION snappy"],
    ["zstd", "COMPRESSION zstd"],
    ["gzip", "COMPRESSION gzip"],
    ["plain", "COMPRESSION uncompressed"],
    ["lz4", "COMPRESSION lz4"],
    ["brotli", "COMPRESSION brotli"],
    ["zstd-v2", "COMPRESSION zstd, PARQUET_VERSION V2"],
  ] as const) {
    files[name] = join(tmp.dir, `chat-${name}.parquet`);
    await sql(`COPY (${CHAT}) TO ${lit(files[name]!)} (FORMAT parquet, ROW_GROUP_SIZE 1000, ${opts})`);
  }
});

describe("readNestedColumn: chat columns written by duckdb", () => {
  for (const codec of ["snappy", "zstd", "gzip", "plain", "lz4", "brotli", "zstd-v2"]) {
    it(`${codec}: every conversation as duckdb reads it, nulls and empty lists included`, async () => {
      const file = files[codec]!;
      const md = await footer(file);
      const cols = streamedColumns(md, 0, ROWS, undefined);
      expect(cols?.map((c) => [c.name, isNested(c)])).toEqual([["messages", true]]);
      const want = await duckRows(file, ["messages"]);
      expect(want.filter((r) => r["messages"] === null).length).toBeGreaterThan(100);
      expect(want.filter((r) => (r["messages"] as unknown[] | null)?.length === 0).length).toBeGreaterThan(100);
      expect(want.some((r) => (r["messages"] as unknown[] | null)?.includes(null))).toBe(true);
      expect(await streamedRows(file, undefined)).toEqual(want);
    });
  }

  it("row ranges starting and ending mid-row-group and across row groups", async () => {
    const file = files["snappy"]!;
    const want = await duckRows(file, ["messages"]);
    for (const [from, to] of [
      [0, 1],
      [999, 1001],
      [1234, 2789],
      [2999, 3000],
    ] as const) {
      expect(await streamedRows(file, ["messages"], from, to)).toEqual(want.slice(from, to));
    }
  });

  it("a loader state taken mid-piece resumes on the next conversation", async () => {
    const file = files["zstd"]!;
    const opts = { sources: file, document: { kind: "chat" as const }, skipBad: true };
    const whole = createLoader(opts);
    const all = await collect(whole);
    const a = createLoader(opts);
    const first = await take(a, 1234);
    const state = a.state();
    await a.close();
    const rest = await collect(createLoader({ ...opts, state }));
    expect([...first, ...rest].map((d) => d.messages)).toEqual(all.map((d) => d.messages));
    // null and empty conversations, and those with a null turn or role, are counted as skipped, not dropped silently
    expect(all.length).toBeGreaterThan(1500);
    expect(all.length + whole.stats().skippedBad).toBe(ROWS);
  });
});

describe("readNestedColumn: other nested shapes", () => {
  it("a struct with a list inside, a list of lists, a list of strings, beside a flat column", async () => {
    const file = join(tmp.dir, "shapes.parquet");
    await sql(`COPY (SELECT 'doc ' || i::VARCHAR AS id,
        CASE WHEN i % 7 = 1 THEN NULL ELSE {'title': CASE WHEN i % 5 = 2 THEN NULL ELSE 'title é ' || i::VARCHAR END, 'tags': CASE WHEN i % 3 = 0 THEN NULL ELSE list_transform(range(i % 4), k -> 'tag' || k::VARCHAR) END} END AS meta,
        list_transform(range(i % 3), k -> CASE WHEN (i + k) % 4 = 1 THEN NULL ELSE list_transform(range((i + k) % 3), j -> CASE WHEN j = 1 AND i % 2 = 0 THEN NULL ELSE 'w' || (i * j)::VARCHAR END) END) AS nested,
        CASE WHEN i % 6 = 4 THEN NULL ELSE list_transform(range(i % 5), k -> 'item ' || k::VARCHAR) END AS items
      FROM range(2000) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 700, COMPRESSION snappy)`);
    const columns = ["id", "meta", "nested", "items"];
    expect(streamedColumns(await footer(file), 0, 2000, columns)?.map(isNested)).toEqual([false, true, true, true]);
    expect(await streamedRows(file, columns)).toEqual(await duckRows(file, columns));
  });

  it("a column with a number among its leaves is left to the whole-row-group reader, unless it is read as chat turns and the number is not a turn's text", async () => {
    const file = join(tmp.dir, "weights.parquet");
    await sql(`COPY (SELECT [{'from': 'human', 'value': 'q' || i::VARCHAR, 'weight': 0.5}] AS conversations, [{'role': 'user', 'content': i}] AS messages FROM range(10) t(i)) TO ${lit(file)} (FORMAT parquet)`);
    const md = await footer(file);
    expect(streamedColumns(md, 0, 10, undefined)).toBeUndefined();
    expect(streamedColumns(md, 0, 10, ["conversations"])).toBeUndefined();
    const chat = streamedColumns(md, 0, 10, ["conversations"], ["conversations"]);
    expect(chat?.map((c) => (isNested(c) ? c.leaves.map((l) => l.path.join(".")) : c.name))).toEqual([["conversations.list.element.from", "conversations.list.element.value"]]);
    // a turn's content that is a number is not left out: the whole column is read as it is
    expect(streamedColumns(md, 0, 10, ["messages"], ["messages"])).toBeUndefined();
  });
});

describe("readNestedColumn on files written by arrow-rs (parquet-wasm)", () => {
  const type = new List(new Field("item", new Struct([new Field("role", new Utf8(), true), new Field("content", new Utf8(), true)]), true));
  for (const [name, version] of [
    ["v1", WriterVersion.V1],
    ["v2", WriterVersion.V2],
  ] as const) {
    it(`data pages ${name}, small pages and a dictionary that fills: every conversation as duckdb reads it`, async () => {
      const data = Array.from({ length: ROWS }, (_, i) =>
        i % 13 === 5
          ? null
          : Array.from({ length: i % 4 }, (_, k) => ((i + k) % 23 === 7 ? null : { role: (i + k) % 19 === 2 ? null : k % 2 === 0 ? "user" : "assistant", content: (i + k) % 29 === 4 ? null : `turn ${k} of ${i} é漢😀 `.repeat(1 + ((i * 31 + k) % 40)) })),
      );
      const table = WasmTable.fromIPCStream(tableToIPC(new Table({ messages: vectorFromArray(data, type) }), "stream"));
      const props = new WriterPropertiesBuilder().setWriterVersion(version).setCompression(Compression.SNAPPY).setDataPageSizeLimit(4096).setDictionaryPageSizeLimit(2048).setMaxRowGroupSize(1200).build();
      const file = join(tmp.dir, `arrow-rs-chat-${name}.parquet`);
      writeFileSync(file, writeParquet(table, props));
      const md = await footer(file);
      const content = md.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema.at(-1) === "content")!.meta_data!;
      expect(content.encodings).toContain(version === WriterVersion.V1 ? "PLAIN" : "DELTA_BYTE_ARRAY"); // the dictionary filled
      const want = await duckRows(file, ["messages"]);
      expect(want.map((r) => r["messages"])).toEqual(data);
      expect(await streamedRows(file, undefined)).toEqual(want);
    });
  }
});

describe("ShareGPT conversations in parquet, through the loader", () => {
  it("give the same documents as the same data in JSONL", async () => {
    const jsonl = join(tmp.dir, "sharegpt.jsonl");
    const parquet = join(tmp.dir, "sharegpt.parquet");
    const select = `SELECT CASE WHEN i % 4 = 0 THEN 'You are terse é.' WHEN i % 4 = 1 THEN '' ELSE NULL END AS system,
      list_transform(range(1 + i % 6), k -> {'from': CASE WHEN k % 2 = 0 THEN 'human' ELSE 'gpt' END, 'value': 'turn ' || k::VARCHAR || ' of ' || i::VARCHAR || ' é漢😀'}) AS conversations
      FROM range(2500) t(i)`;
    await sql(`COPY (${select}) TO ${lit(jsonl)} (FORMAT json)`);
    await sql(`COPY (${select}) TO ${lit(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    expect(streamedColumns(await footer(parquet), 0, 2500, ["conversations", "system"])?.map(isNested)).toEqual([true, false]);
    const fromJsonl = await collect(createLoader({ sources: jsonl, document: { kind: "chat" } }));
    const fromParquet = await collect(createLoader({ sources: parquet, document: { kind: "chat" } }));
    expect(fromJsonl.length).toBe(2500);
    expect(fromParquet.map((d) => d.messages)).toEqual(fromJsonl.map((d) => d.messages));
    expect(fromParquet[0]!.messages![0]).toEqual({ role: "system", content: "You are terse é." });
  });
});

describe("ShareGPT turns with a number beside the text (a per-turn weight)", () => {
  it("are streamed without it, and give the same documents as the same data in JSONL", async () => {
    const jsonl = join(tmp.dir, "weighted.jsonl");
    const parquet = join(tmp.dir, "weighted.parquet");
    const select = `SELECT list_transform(range(1 + i % 4), k -> {'from': CASE WHEN k % 2 = 0 THEN 'human' ELSE 'gpt' END, 'value': 'turn ' || k::VARCHAR || ' of ' || i::VARCHAR || ' é', 'weight': CASE WHEN k % 2 = 0 THEN 0.0 ELSE 1.0 END}) AS conversations
      FROM range(3000) t(i)`;
    await sql(`COPY (${select}) TO ${lit(jsonl)} (FORMAT json)`);
    await sql(`COPY (${select}) TO ${lit(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 1000, COMPRESSION zstd)`);
    const md = await footer(parquet);
    expect(streamedColumns(md, 0, 3000, ["conversations"])).toBeUndefined();
    const fromJsonl = await collect(createLoader({ sources: jsonl, document: { kind: "chat" } }));
    const fromParquet = await collect(createLoader({ sources: parquet, document: { kind: "chat" } }));
    expect(fromParquet.map((d) => d.messages)).toEqual(fromJsonl.map((d) => d.messages));
    expect(fromParquet.length).toBe(3000);
    // the loader streams it: a piece holds its compressed chunks (zstd) but the weight's, which is never
    // read, not the row group decoded
    const largest = (size: (m: NonNullable<FileMetaData["row_groups"][number]["columns"][number]["meta_data"]>) => bigint): number =>
      Math.max(...md.row_groups.map((rg) => rg.columns.reduce((n, c) => n + (c.meta_data!.path_in_schema.at(-1) === "weight" ? 0 : Number(size(c.meta_data!))), 0)));
    expect(largest((m) => m.total_compressed_size)).toBeLessThan(largest((m) => m.total_uncompressed_size));
    expect(await createLoader({ sources: parquet }).largestPieceBytes()).toBe(largest((m) => m.total_compressed_size));
  });
});

describe("multimodal chat turns (content parts with an image beside the text)", () => {
  it("read as documents, never read the images' column chunks, and give duckdb's text", async () => {
    const file = join(tmp.dir, "multimodal.parquet");
    await sql(`COPY (SELECT [{'role': 'user', 'content': [{'type': 'text', 'text': 'describe ' || i::VARCHAR, 'image': NULL}, {'type': 'image', 'text': NULL, 'image': (SELECT string_agg(md5((i * 100 + j)::VARCHAR), '') FROM range(20) t2(j))::BLOB}]},
        {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a picture ' || i::VARCHAR, 'image': NULL}]}] AS messages
      FROM range(5000) t(i)) TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    const md = await footer(file);
    const images = md.row_groups.map((rg) => rg.columns.find((c) => c.meta_data?.path_in_schema.at(-1) === "image")!.meta_data!);
    expect(images.length).toBe(3);
    expect(images.every((m) => Number(m.total_compressed_size) > 100_000)).toBe(true);
    const cols = streamedColumns(md, 0, 5000, ["messages"], ["messages"]);
    expect(cols?.map((c) => (isNested(c) ? c.leaves.map((l) => l.path.at(-1)) : []))).toEqual([["role", "type", "text"]]);
    const base = await fileSource(file);
    const reads: [number, number][] = [];
    const src: ByteSource = { name: base.name, byteLength: base.byteLength, slice: (a, b) => (reads.push([a, b ?? base.byteLength]), base.slice(a, b)) };
    const got: unknown[] = [];
    try {
      for await (const rec of readStreamedColumns(src, md, 0, 5000, cols!)) got.push(decoded(rec["messages"]));
    } finally {
      await base.close?.();
    }
    for (const m of images) {
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      expect(reads.filter(([a, b]) => a < end && b > start)).toEqual([]);
    }
    const want = (await duckRows(file, ["messages"])).map((r) =>
      (r["messages"] as { role: string; content: { type: string; text: string | null }[] }[]).map((m) => ({ role: m.role, content: m.content.map((p) => ({ type: p.type, text: p.text })) })),
    );
    expect(got).toEqual(want);
    // through the loader: the images count in no piece's bytes, and the next row group is read ahead without them
    const spy = vi.spyOn(ReadAhead.prototype, "prefetch");
    try {
      const loader = createLoader({ sources: file, document: { kind: "chat" } });
      const docs = await collect(loader);
      expect(docs[7]!.messages).toEqual([
        { role: "user", content: "describe 7" },
        { role: "assistant", content: "a picture 7" },
      ]);
      expect(spy).toHaveBeenCalledTimes(2);
      for (const [a, b] of spy.mock.calls.flatMap((c) => c[0])) for (const m of images) expect(b <= Number(m.data_page_offset) || a >= Number(m.data_page_offset) + Number(m.total_compressed_size)).toBe(true);
      const textOnly = Math.max(...md.row_groups.map((rg) => rg.columns.filter((c) => c.meta_data!.path_in_schema.at(-1) !== "image").reduce((n, c) => n + streamedChunkBytes(c.meta_data!), 0)));
      expect(await loader.largestPieceBytes()).toBe(textOnly);
    } finally {
      spy.mockRestore();
    }
  });
});

describe.skipIf(!hasShared())("readNestedColumn on the parquet-testing files", () => {
  it("every nested column it streams gives duckdb's values (parquet-mr, pyarrow, arrow-rs writers)", async () => {
    const dir = sharedPath("data/parquet-testing");
    const seen: string[] = [];
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".parquet"))) {
      const file = join(dir, name);
      const md = await footer(file);
      const rows = Number(md.num_rows);
      for (const column of topLevelColumns(md)) {
        const col = streamedColumns(md, 0, rows, [column])?.[0];
        if (col === undefined || !isNested(col)) continue;
        seen.push(`${name}:${column}`);
        expect({ file: name, column, rows: await streamedRows(file, [column]) }).toEqual({ file: name, column, rows: await duckRows(file, [column]) });
      }
    }
    // a LIST of optional strings (pyarrow) and a bare repeated string field (parquet-mr, protobuf style)
    expect(seen).toEqual(expect.arrayContaining(["list_columns.parquet:utf8_list", "repeated_primitive_no_list.parquet:String_list"]));
  });
});

describe("readNestedColumn on corrupt files", () => {
  it("a turn whose text is not UTF-8 is an InputFormatError naming the file, row and turn (or counted by skipBad), not replacement characters", async () => {
    const good = join(tmp.dir, "chat-utf8.parquet");
    await sql(`COPY (SELECT [{'role': 'user', 'content': 'question ' || i::VARCHAR}, {'role': 'assistant', 'content': CASE WHEN i = 1234 THEN 'answer MARK-XYZW' ELSE 'answer ' || i::VARCHAR END}] AS messages
      FROM range(3000) t(i)) TO ${lit(good)} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 1000)`);
    const bytes = readFileSync(good);
    const at = bytes.indexOf("MARK-XYZW");
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf("MARK-XYZW", at + 1)).toBe(-1);
    bytes.set([0x4d, 0xff, 0xfe, 0x80], at); // invalid UTF-8, same length
    const bad = join(tmp.dir, "chat-not-utf8.parquet");
    writeFileSync(bad, bytes);
    const err = (await collect(createLoader({ sources: bad, document: { kind: "chat" } })).catch((e: unknown) => e)) as InputFormatError;
    expect(err).toBeInstanceOf(InputFormatError);
    expect(err.context).toMatchObject({ file: bad, row: 1234, field: "messages[1].content" });
    expect(err.message).toMatch(/not valid UTF-8/);
    const loader = createLoader({ sources: bad, document: { kind: "chat" }, skipBad: true });
    expect((await collect(loader)).length).toBe(2999);
    expect(loader.stats().skippedBad).toBe(1);
  });

  it("a damaged page is an InputFormatError naming the file, the leaf and a row", async () => {
    const bytes = new Uint8Array(readFileSync(files["zstd"]!));
    const md = await footer(files["zstd"]!);
    const chunk = md.row_groups[1]!.columns.find((c) => c.meta_data?.path_in_schema.at(-1) === "content")!.meta_data!;
    const mid = Number(chunk.data_page_offset) + Math.floor(Number(chunk.total_compressed_size) / 2);
    bytes.fill(0xff, mid, mid + 64);
    const bad = join(tmp.dir, "damaged-chat.parquet");
    writeFileSync(bad, bytes);
    expectErrorInRowGroup(await streamedRows(bad, undefined).catch((e: unknown) => e), bad, "messages.list.element.content", md, 1);
  });
});
