/**
 * The stepped lz4 decoder (`lz4-steps.ts`) on blocks built here sequence by sequence from the format
 * description (literals and matches longer than a step, length bytes that run on, overlapping
 * matches, a match reaching the full 65,535 bytes back), also checked against hyparquet-compressors'
 * one-call decoders; Hadoop-framed pages of several blocks; lz4 pages that arrow-rs and duckdb wrote;
 * and corrupt input. Each stream is decoded whole and fed a window at a time (as `parquet-text.ts`
 * reads a large page), down to 5 bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { decompressLz4, decompressLz4Raw } from "hyparquet-compressors";
import { parquetHeader } from "hyparquet/src/column.js";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm/node";
import { afterAll, describe, expect, it } from "vitest";
import { lz4Decompress, lz4IsHadoop, lz4PageSteps } from "../../loaders/lz4-steps.js";
import { DECODE_STEP, wholeInput } from "../../loaders/page-steps.js";
import { drainSteps, footer, lit, patternBytes, sql, tempDir, windowed } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const STEP = DECODE_STEP;

/** Every step concatenated, and the step sizes; input whole, or fed `window` bytes at a time. */
function decode(packed: Uint8Array, expected: number, hadoop: boolean, window?: number): { out: Uint8Array; steps: number[] } {
  const input = window === undefined ? undefined : windowed(packed, window);
  return drainSteps(lz4PageSteps(input ?? wholeInput(packed), 0, expected, hadoop), input);
}

/** An lz4 block written sequence by sequence, as the format describes them, with the output it stands for. */
class BlockBuilder {
  private readonly bytes: number[] = [];
  private readonly out: number[] = [];
  /** Where each match's offset bytes are in the block. */
  readonly offsets: number[] = [];

  private length(n: number): void {
    for (; n >= 255; n -= 255) this.bytes.push(255);
    this.bytes.push(n);
  }

  /** Literals, then (unless it is the block's last sequence) a match of `len` ≥ 4 bytes `offset` back. */
  seq(literals: Uint8Array, offset?: number, len?: number): this {
    const m = len === undefined ? 0 : len - 4;
    this.bytes.push((Math.min(literals.byteLength, 15) << 4) | Math.min(m, 15));
    if (literals.byteLength >= 15) this.length(literals.byteLength - 15);
    for (const b of literals) {
      this.bytes.push(b);
      this.out.push(b);
    }
    if (offset === undefined || len === undefined) return this;
    this.offsets.push(this.bytes.length);
    this.bytes.push(offset & 0xff, offset >>> 8);
    if (m >= 15) this.length(m - 15);
    for (let i = 0; i < len; i++) this.out.push(this.out[this.out.length - offset]!);
    return this;
  }

  block(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  output(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** Blocks in Hadoop's framing: each behind its decoded and compressed sizes (big-endian u32). */
function hadoop(blocks: { block: Uint8Array; out: Uint8Array }[]): { packed: Uint8Array; out: Uint8Array } {
  const parts: Buffer[] = [];
  for (const { block, out } of blocks) {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(out.byteLength, 0);
    h.writeUInt32BE(block.byteLength, 4);
    parts.push(h, Buffer.from(block));
  }
  return { packed: new Uint8Array(Buffer.concat(parts)), out: new Uint8Array(Buffer.concat(blocks.map((b) => Buffer.from(b.out)))) };
}

/** A block exercising every length and offset the format has, over `STEP`s of output. */
function richBlock(seed: number): BlockBuilder {
  const b = new BlockBuilder();
  b.seq(patternBytes(70_000, seed, true), 1, 5); // a literal run with hundreds of length bytes; a run of one byte
  b.seq(patternBytes(3, seed + 1, false), 65_535, 300_000); // the farthest offset; a match over two steps
  b.seq(new Uint8Array(0), 3, 19); // no literals, a length nibble of exactly 15
  b.seq(patternBytes(14, seed + 2, false), 7, 18); // 14 literals (no length byte), match length byte 0
  b.seq(patternBytes(15, seed + 3, true), 2, 4 + 15 + 255); // 15 literals (length byte 0); match length runs on a 255
  for (let i = 0; i < 300; i++) b.seq(patternBytes(1 + (i % 40), seed + 10 + i, i % 2 === 0), 1 + ((i * 7919) % 60_000), 4 + (i % 70));
  b.seq(patternBytes(STEP + 17, seed + 4, false)); // the last sequence: literals over a step
  return b;
}

describe("lz4PageSteps on blocks built from the format description", () => {
  it("a raw block: the output the sequences stand for, and hyparquet-compressors' decode, whole and fed 5 bytes to 70 KiB at a time", () => {
    const b = richBlock(1);
    const block = b.block();
    const want = b.output();
    expect(want.byteLength).toBeGreaterThan(3 * STEP);
    expect(Buffer.from(decompressLz4Raw(block, want.byteLength)).equals(Buffer.from(want))).toBe(true); // the builder is right
    for (const window of [undefined, 5, 4099, 70_001]) {
      const { out, steps } = decode(block, want.byteLength, false, window);
      expect({ window, equal: Buffer.from(out).equals(Buffer.from(want)) }).toEqual({ window, equal: true });
      expect(Math.max(...steps)).toBeLessThanOrEqual(STEP);
      if (window === undefined) expect(steps.slice(0, -1).every((n) => n === STEP)).toBe(true); // only the loaded input ends a step early
    }
    expect(lz4IsHadoop(block, block.byteLength, want.byteLength)).toBe(false);
  });

  it("Hadoop framing of three blocks (one empty): the blocks' outputs in order, as hyparquet-compressors decodes it", () => {
    const blocks = [richBlock(2), new BlockBuilder().seq(patternBytes(40, 9, true), 10, 100).seq(patternBytes(30, 8, true)), richBlock(3)].map((b) => ({ block: b.block(), out: b.output() }));
    const reference = hadoop(blocks); // hyparquet-compressors fails on an empty block
    expect(Buffer.from(decompressLz4(reference.packed, reference.out.byteLength)).equals(Buffer.from(reference.out))).toBe(true);
    blocks.splice(1, 0, { block: Uint8Array.of(0), out: new Uint8Array(0) });
    const { packed, out: want } = hadoop(blocks);
    expect(Buffer.from(want).equals(Buffer.from(reference.out))).toBe(true);
    expect(lz4IsHadoop(packed, packed.byteLength, want.byteLength)).toBe(true);
    for (const window of [undefined, 6, 8191, 100_000]) {
      const { out } = decode(packed, want.byteLength, true, window);
      expect({ window, equal: Buffer.from(out).equals(Buffer.from(want)) }).toEqual({ window, equal: true });
    }
    expect(Buffer.from(lz4Decompress(packed, want.byteLength, true)).equals(Buffer.from(want))).toBe(true);
    // an empty block first: still told apart from a bare block
    const emptyFirst = hadoop([blocks[1]!, blocks[0]!]);
    expect(lz4IsHadoop(emptyFirst.packed, emptyFirst.packed.byteLength, emptyFirst.out.byteLength)).toBe(true);
    expect(Buffer.from(lz4Decompress(emptyFirst.packed, emptyFirst.out.byteLength, true)).equals(Buffer.from(blocks[0]!.out))).toBe(true);
  });

  it("an empty page: a block of one empty sequence, or nothing", () => {
    expect(decode(Uint8Array.of(0), 0, false).steps).toEqual([]);
    expect(decode(new Uint8Array(0), 0, false).steps).toEqual([]);
    expect(lz4Decompress(Uint8Array.of(0), 0, true).byteLength).toBe(0);
  });
});

describe("lz4PageSteps on corrupt input", () => {
  const b = new BlockBuilder().seq(patternBytes(5000, 4, true), 300, 9000).seq(patternBytes(20, 5, true));
  const block = b.block();
  const n = b.output().byteLength;
  const raw = (bytes: Uint8Array, expected = n) => () => decode(bytes, expected, false);

  it("names what is wrong", () => {
    expect(raw(block.subarray(0, block.byteLength - 3))).toThrow(/literals run past the page/);
    const at = b.offsets[0]!;
    expect(raw(block.subarray(0, at + 1))).toThrow(/match runs past the page/);
    expect(raw(block, n + 10)).toThrow(/decodes to \d+ bytes, its header says/);
    expect(raw(block, n - 10)).toThrow(/bytes past its declared length/);
    const zeroOffset = block.slice();
    zeroOffset[at] = 0;
    zeroOffset[at + 1] = 0;
    expect(raw(zeroOffset)).toThrow(/reaches 0 bytes back/);
    const far = block.slice();
    far[at + 1] = 0xf0; // over 61,440 bytes back, after 5,000 bytes of output
    expect(raw(far)).toThrow(/before the page start/);
    const truncatedWindowed = () => decode(block.subarray(0, 4000), n, false, 512);
    expect(truncatedWindowed).toThrow(/literals run past the page/);
  });

  it("a Hadoop block whose declared size is not what it decodes to, or that runs past the page", () => {
    const { packed, out } = hadoop([{ block, out: b.output() }, { block, out: b.output() }]);
    const wrongSize = packed.slice();
    new DataView(wrongSize.buffer).setUint32(0, n - 1); // the first block's decoded size
    expect(() => decode(wrongSize, out.byteLength, true)).toThrow(/Hadoop block decodes to \d+ bytes, its header says \d+/);
    const tooLong = packed.slice();
    new DataView(tooLong.buffer).setUint32(8 + block.byteLength + 4, block.byteLength + 100); // the second's compressed size
    expect(() => decode(tooLong, out.byteLength, true)).toThrow(/Hadoop block .* runs past the page/);
  });

  it("the LZ4 frame format is refused by name", () => {
    const frame = Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0, 0, 0, 0);
    expect(() => lz4IsHadoop(frame, frame.byteLength, 100)).toThrow(/LZ4 frame format/);
  });
});

/** Each data page's compressed body of the first column chunk, with its uncompressed size. */
async function pageBodies(file: string): Promise<{ codec: string; pages: { body: Uint8Array; size: number }[] }> {
  const md = await footer(file);
  const chunk = md.row_groups[0]!.columns[0]!.meta_data!;
  const bytes = readFileSync(file);
  const pages: { body: Uint8Array; size: number }[] = [];
  let at = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
  const end = at + Number(chunk.total_compressed_size);
  while (at < end) {
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset + at), offset: 0 };
    const h = parquetHeader(reader);
    const body = new Uint8Array(bytes.buffer, bytes.byteOffset + at + reader.offset, h.compressed_page_size);
    if (h.type === "DATA_PAGE") pages.push({ body, size: h.uncompressed_page_size });
    at += reader.offset + h.compressed_page_size;
  }
  return { codec: chunk.codec, pages };
}

describe("lz4PageSteps on pages other tools wrote", () => {
  it("arrow-rs's LZ4 (Hadoop-framed) and LZ4_RAW pages, and duckdb's lz4 pages: hyparquet-compressors' output, fed 4 KiB at a time", async () => {
    const texts = Array.from({ length: 4000 }, (_, i) => `row ${i} é漢😀 ${"word ".repeat(i % 300)}${i % 7 === 0 ? "x".repeat(20_000) : ""}`);
    const files: [string, string][] = [];
    for (const [name, codec] of [
      ["LZ4", Compression.LZ4],
      ["LZ4_RAW", Compression.LZ4_RAW],
    ] as const) {
      const file = join(tmp.dir, `arrow-rs-${name}.parquet`);
      const table = WasmTable.fromIPCStream(tableToIPC(tableFromArrays({ text: texts }), "stream"));
      writeFileSync(file, writeParquet(table, new WriterPropertiesBuilder().setCompression(codec).setDictionaryEnabled(false).setDataPageSizeLimit(1 << 20).build()));
      files.push([file, name]);
    }
    const duck = join(tmp.dir, "duckdb-lz4.parquet");
    await sql(`COPY (SELECT repeat('row ' || i::VARCHAR || ' é漢😀 ', 1 + i % 200) AS text FROM range(20000) t(i)) TO ${lit(duck)} (FORMAT parquet, COMPRESSION lz4)`);
    files.push([duck, "LZ4_RAW"]);
    for (const [file, codec] of files) {
      const { codec: written, pages } = await pageBodies(file);
      expect(written).toBe(codec);
      expect(pages.length).toBeGreaterThan(0);
      expect(Math.max(...pages.map((p) => p.size))).toBeGreaterThan(STEP);
      const isHadoop = codec === "LZ4";
      for (const { body, size } of pages) {
        expect(lz4IsHadoop(body, body.byteLength, size)).toBe(isHadoop);
        const want = isHadoop ? decompressLz4(body, size) : decompressLz4Raw(body, size);
        expect(Buffer.from(decode(body, size, isHadoop, 4096).out).equals(Buffer.from(want))).toBe(true);
      }
    }
  });
});
