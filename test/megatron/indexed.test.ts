/**
 * The .bin/.idx writer checked by an independent reader written here from the format text
 * (magic, u64 version, u8 dtype, u64 S, u64 D, int32 lengths, int64 pointers, int64 doc indices; LE).
 */
import { mkdtempSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IndexedDatasetWriter, openIndexedDataset, dtypeForVocab } from "../../src/megatron/index.js";

interface Parsed {
  version: bigint;
  code: number;
  seqs: bigint;
  docs: bigint;
  lengths: number[];
  pointers: bigint[];
  docIdx: bigint[];
  trailing: number;
}

/** Independent reader: field by field, with DataView at explicit offsets. */
export function parseIdx(buf: Buffer): Parsed {
  const magic = buf.subarray(0, 9);
  expect([...magic]).toEqual([77, 77, 73, 68, 73, 68, 88, 0, 0]); // "MMIDIDX\0\0"
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 9;
  const version = dv.getBigUint64(o, true); o += 8;
  const code = dv.getUint8(o); o += 1;
  const seqs = dv.getBigUint64(o, true); o += 8;
  const docs = dv.getBigUint64(o, true); o += 8;
  const lengths: number[] = [];
  for (let i = 0; i < Number(seqs); i++, o += 4) lengths.push(dv.getInt32(o, true));
  const pointers: bigint[] = [];
  for (let i = 0; i < Number(seqs); i++, o += 8) pointers.push(dv.getBigInt64(o, true));
  const docIdx: bigint[] = [];
  for (let i = 0; i < Number(docs); i++, o += 8) docIdx.push(dv.getBigInt64(o, true));
  return { version, code, seqs, docs, lengths, pointers, docIdx, trailing: buf.byteLength - o };
}

/** Read sequence i from the .bin with the element size implied by the dtype code. */
export function readSeq(bin: Buffer, p: Parsed, i: number): number[] {
  const size = p.code === 8 ? 2 : p.code === 4 ? 4 : NaN;
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out: number[] = [];
  const start = Number(p.pointers[i]!);
  for (let k = 0; k < p.lengths[i]!; k++) out.push(size === 2 ? dv.getUint16(start + 2 * k, true) : dv.getInt32(start + 4 * k, true));
  return out;
}

function randomDocs(n: number, maxId: number, seed: number): number[][] {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => Array.from({ length: i % 7 === 3 ? 0 : 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * maxId)));
}

describe("Megatron indexed dataset writer", () => {
  for (const [vocab, code] of [[50257, 8], [100277, 4]] as const) {
    it(`vocab ${vocab} → dtype code ${code}; every field read back independently`, () => {
      const dir = mkdtempSync(join(tmpdir(), "tokpack-idx-"));
      const prefix = join(dir, "data");
      const docs = randomDocs(500, vocab, vocab);
      const w = new IndexedDatasetWriter(prefix, dtypeForVocab(vocab));
      for (const d of docs) w.append(Uint32Array.from(d));
      expect(existsSync(`${prefix}.bin`)).toBe(false); // temporary names until finish
      w.finish();
      expect(readdirSync(dir).sort()).toEqual(["data.bin", "data.idx"]);
      const p = parseIdx(readFileSync(`${prefix}.idx`));
      expect(p.version).toBe(1n);
      expect(p.code).toBe(code);
      expect(p.seqs).toBe(BigInt(docs.length));
      expect(p.docs).toBe(BigInt(docs.length + 1));
      expect(p.trailing).toBe(0);
      expect(p.lengths).toEqual(docs.map((d) => d.length));
      const size = code === 8 ? 2 : 4;
      let ptr = 0n;
      p.pointers.forEach((q, i) => {
        expect(q).toBe(ptr);
        ptr += BigInt(docs[i]!.length * size);
      });
      expect(p.docIdx).toEqual(Array.from({ length: docs.length + 1 }, (_, i) => BigInt(i)));
      const bin = readFileSync(`${prefix}.bin`);
      expect(BigInt(bin.byteLength)).toBe(ptr);
      docs.forEach((d, i) => expect(readSeq(bin, p, i)).toEqual(d));
      // the library's own reader agrees
      const ds = openIndexedDataset(prefix);
      expect(ds.length).toBe(docs.length);
      expect(Array.from(ds.get(17))).toEqual(docs[17]);
      ds.close();
    });
  }

  it("resume truncates back to the checkpoint and continues to the same bytes", () => {
    const dir = mkdtempSync(join(tmpdir(), "tokpack-idx-"));
    const docs = randomDocs(200, 50000, 7);
    const a = new IndexedDatasetWriter(join(dir, "a"), "uint16");
    for (const d of docs) a.append(Uint32Array.from(d));
    a.finish();
    const b = new IndexedDatasetWriter(join(dir, "b"), "uint16");
    for (const d of docs.slice(0, 120)) b.append(Uint32Array.from(d));
    b.sync();
    const pos = b.position;
    for (const d of docs.slice(120, 150)) b.append(Uint32Array.from(d)); // written after the checkpoint
    b.abandon();
    const c = new IndexedDatasetWriter(join(dir, "b"), "uint16", pos);
    for (const d of docs.slice(120)) c.append(Uint32Array.from(d));
    c.finish();
    expect(readFileSync(join(dir, "b.bin")).equals(readFileSync(join(dir, "a.bin")))).toBe(true);
    expect(readFileSync(join(dir, "b.idx")).equals(readFileSync(join(dir, "a.idx")))).toBe(true);
  });

  it("refuses ids that do not fit uint16", () => {
    const dir = mkdtempSync(join(tmpdir(), "tokpack-idx-"));
    const w = new IndexedDatasetWriter(join(dir, "x"), "uint16");
    expect(() => w.append(Uint32Array.of(1, 70000))).toThrow(/does not fit uint16/);
    w.abandon();
  });
});
