/**
 * Test helpers for the loader suite: temp dirs, draining loaders, duckdb as the reference reader /
 * writer, and a minimal zip writer (stored or deflated entries, CRC via node:zlib).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { expect } from "vitest";
import { InputFormatError } from "../../src/errors.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { FileMetaData } from "hyparquet";
import type { ByteSource, Document } from "../../loaders/index.js";
import { fileSource } from "../../loaders/bytes.js";
import { HUNGRY, type PageInput, type PageSteps } from "../../loaders/page-steps.js";
import { parquetFooter } from "../../loaders/parquet.js";

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tokpack-loaders-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A parquet file's footer as the loader reads it (which also loads hyparquet for the schema helpers). */
export async function footer(file: string): Promise<FileMetaData> {
  const src = await fileSource(file);
  try {
    return await parquetFooter(src);
  } finally {
    await src.close?.();
  }
}

/** Everything `read` yields from `file` opened as a source (closed after), each item mapped by `map`. */
export async function drainSource<T, U>(file: string, read: (src: ByteSource) => AsyncIterable<T>, map: (v: T) => U): Promise<U[]> {
  const src = await fileSource(file);
  const out: U[] = [];
  try {
    for await (const v of read(src)) out.push(map(v));
  } finally {
    await src.close?.();
  }
  return out;
}

/**
 * Checks that `err` is an InputFormatError naming `file` and `field`, at a row of row group `group`
 * of `md` (where damaged bytes were).
 */
export function expectErrorInRowGroup(err: unknown, file: string, field: string, md: FileMetaData, group: number): void {
  expect(err).toBeInstanceOf(InputFormatError);
  const e = err as InputFormatError;
  expect(e.context).toMatchObject({ file, field });
  let first = 0;
  for (let g = 0; g < group; g++) first += Number(md.row_groups[g]!.num_rows);
  expect(e.context.row).toBeGreaterThanOrEqual(first);
  expect(e.context.row, e.message).toBeLessThan(first + Number(md.row_groups[group]!.num_rows));
}

/** Drains an async iterable of documents. */
export async function collect(it: AsyncIterable<Document>, limit = Infinity): Promise<Document[]> {
  const out: Document[] = [];
  if (limit <= 0) return out;
  for await (const d of it) {
    out.push(d);
    if (out.length >= limit) break;
  }
  return out;
}

/** Takes exactly `n` documents with `next()` (no iterator `return()`, so the loader stays usable). */
export async function take(it: AsyncIterator<Document>, n: number): Promise<Document[]> {
  const out: Document[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

let conn: Promise<DuckDBConnection> | undefined;

/** A shared in-memory duckdb connection (single-threaded so row order is file order). */
export function duck(): Promise<DuckDBConnection> {
  return (conn ??= (async () => {
    const inst = await DuckDBInstance.create(":memory:", { threads: "1" });
    return inst.connect();
  })());
}

/** Runs SQL and returns rows as JS objects (BLOB → Buffer, LIST → array, STRUCT → object). */
export async function sql(q: string): Promise<Record<string, unknown>[]> {
  const c = await duck();
  const r = await c.runAndReadAll(q);
  return r.getRowObjectsJS() as Record<string, unknown>[];
}

/** SQL string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Writes a zip archive with the given entries (method 0 = stored, 8 = deflate). */
export function writeZip(path: string, entries: { name: string; data: Uint8Array; method?: 0 | 8 }[]): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name, "utf8");
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x0800, 8);
    cen.writeUInt16LE(method, 10);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(body.length, 20);
    cen.writeUInt32LE(e.data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    central.push(cen, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...parts, cd, end]));
}

/** Splits text into JSONL records the way an independent reader would (for reference values). */
export function referenceJsonl(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * `bytes` as a page input loaded `window` bytes at a time (the whole page when a decoder asks for
 * it), as the reader in parquet-text.ts does: `load()` keeps the bytes from `consumed` on.
 */
export function windowed(bytes: Uint8Array, window: number): PageInput & { load(): void; loads: number } {
  const input = {
    size: bytes.byteLength,
    buf: bytes.subarray(0, Math.min(window, bytes.byteLength)),
    start: 0,
    consumed: 0,
    wantWhole: false,
    loads: 0,
    load(): void {
      input.loads++;
      if (input.wantWhole) {
        input.buf = bytes;
        input.start = 0;
        input.wantWhole = false;
        return;
      }
      const end = input.start + input.buf.byteLength;
      if (end >= bytes.byteLength) throw new Error("asked for input past the page's end");
      input.buf = bytes.slice(input.consumed, Math.min(bytes.byteLength, end + window)); // fresh memory, as a new read
      input.start = input.consumed;
    },
  };
  return input;
}

/** Deterministic bytes for codec tests: text-like (words, multi-byte UTF-8: compressible) or noise. */
export function patternBytes(n: number, seed: number, text: boolean): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  const words = ["the ", "snappy ", "page ", "ü界", "😀 ", "row ", "group\n", "a", "zz"].map((w) => Buffer.from(w));
  for (let i = 0; i < n; ) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    if (text) {
      const w = words[(s >>> 16) % words.length]!;
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
    } else out[i++] = s >>> 24;
  }
  return out;
}

/**
 * Every step of `steps` concatenated, and the step sizes; on HUNGRY, `input` (a {@link windowed}
 * one: only it runs out) loads more. Checks that `current()` gives each step again.
 */
export function drainSteps(steps: PageSteps, input: { load(): void } | undefined): { out: Uint8Array; steps: number[] } {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  for (let v = steps.next(); v !== undefined; v = steps.next()) {
    if (v === HUNGRY) {
      expect(input).toBeDefined();
      input!.load();
      continue;
    }
    const again = steps.current();
    expect(again !== undefined && Buffer.from(again).equals(Buffer.from(v))).toBe(true); // current() re-views the step
    parts.push(v.slice()); // the next step may overwrite this one
    sizes.push(v.byteLength);
  }
  steps.close();
  return { out: new Uint8Array(Buffer.concat(parts)), steps: sizes };
}
