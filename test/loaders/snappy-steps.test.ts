/**
 * The stepped snappy decoder (`snappy-steps.ts`) against hysnappy's decoder (the reference C code in
 * WebAssembly): streams from two compressors (hysnappy's, the reference one; hyparquet-writer's JS
 * port), and streams built here element by element from the format description — copies that reach
 * further back than the history the decoder keeps, overlapping copies, literals longer than a step,
 * elements cut at every step boundary — and corrupt streams. Each stream is decoded with its input
 * whole and fed a window at a time (as `parquet-text.ts` reads a large page), down to 7 bytes.
 */
import { snappyCompress, snappyUncompress } from "hysnappy";
import { snappyCompress as jsSnappyCompress } from "hyparquet-writer/src/snappy.js";
import { describe, expect, it } from "vitest";
import { drainSteps, patternBytes, windowed } from "./helpers.js";
import { DECODE_STEP, wholeInput } from "../../loaders/page-steps.js";
import { snappyPageSteps, type WholeSnappy } from "../../loaders/snappy-steps.js";

const STEP = DECODE_STEP;

/** Every step concatenated, with the step sizes, and how often the whole-page fallback ran; input whole, or fed `window` bytes at a time. */
function decode(packed: Uint8Array, expected: number, window?: number): { out: Uint8Array; steps: number[]; wholeCalls: number } {
  let wholeCalls = 0;
  const whole: WholeSnappy = (i, n) => {
    wholeCalls++;
    return snappyUncompress(i, n);
  };
  const input = window === undefined ? undefined : windowed(packed, window);
  return { ...drainSteps(snappyPageSteps(input ?? wholeInput(packed), 0, expected, whole), input), wholeCalls };
}

/** Snappy's varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A stream written element by element, as the format describes them. */
class StreamBuilder {
  readonly parts: number[] = [];
  length = 0;

  literal(data: Uint8Array): this {
    const n = data.byteLength - 1;
    if (n < 60) this.parts.push(n << 2);
    else {
      const len: number[] = [];
      for (let v = n; v > 0; v = Math.floor(v / 256)) len.push(v & 0xff);
      this.parts.push((59 + len.length) << 2, ...len);
    }
    for (const x of data) this.parts.push(x);
    this.length += data.byteLength;
    return this;
  }

  /** A copy with a 2-byte offset (kind 2) or, when `wide`, a 4-byte one (kind 3); 1 ≤ len ≤ 64. */
  copy(offset: number, len: number, wide = false): this {
    if (wide) this.parts.push(((len - 1) << 2) | 3, offset & 0xff, (offset >>> 8) & 0xff, (offset >>> 16) & 0xff, offset >>> 24);
    else this.parts.push(((len - 1) << 2) | 2, offset & 0xff, offset >>> 8);
    this.length += len;
    return this;
  }

  /** A copy with a 1-byte offset (kind 1): 4 ≤ len ≤ 11, offset < 2048. */
  shortCopy(offset: number, len: number): this {
    this.parts.push(((offset >>> 8) << 5) | ((len - 4) << 2) | 1, offset & 0xff);
    this.length += len;
    return this;
  }

  build(): Uint8Array {
    return new Uint8Array([...varint(this.length), ...this.parts]);
  }
}

describe("snappyPageSteps on compressors' output", () => {
  const cases: [string, Uint8Array][] = [
    ["empty", patternBytes(0, 1, true)],
    ["one byte", patternBytes(1, 2, false)],
    ["short text", patternBytes(100, 3, true)],
    ["a step exactly", patternBytes(STEP, 4, true)],
    ["a step and one byte", patternBytes(STEP + 1, 5, true)],
    ["3 MB of text", patternBytes(3_000_000, 6, true)],
    ["1 MB of noise (literals only)", patternBytes(1_000_000, 7, false)],
  ];
  for (const [compressor, compress] of [
    ["hysnappy (reference C)", snappyCompress],
    ["hyparquet-writer (JS port)", jsSnappyCompress],
  ] as const) {
    for (const [name, data] of cases) {
      it(`${compressor}: ${name} decodes to its input, in steps of at most 128 KiB, without the whole-page fallback`, () => {
        const packed = compress(data);
        const { out, steps, wholeCalls } = decode(packed, data.byteLength);
        expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
        expect(steps.every((n) => n > 0 && n <= STEP)).toBe(true);
        expect(steps.length).toBe(Math.ceil(data.byteLength / STEP));
        expect(wholeCalls).toBe(0);
      });
    }
    it(`${compressor}: text and noise fed in windows of 7 to 100,000 bytes decode as with the input whole`, () => {
      for (const data of [patternBytes(300_000, 8, true), patternBytes(200_000, 9, false)]) {
        const packed = compress(data);
        for (const window of [7, 1000, 65_537, 100_000]) {
          const { out, steps, wholeCalls } = decode(packed, data.byteLength, window);
          expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
          expect(steps.every((n) => n > 0 && n <= STEP)).toBe(true);
          expect(wholeCalls).toBe(0);
        }
      }
    });
  }
});

describe("snappyPageSteps on streams built element by element", () => {
  it("copies across step boundaries, overlapping runs, short and long literals match hysnappy", () => {
    const b = new StreamBuilder();
    const noise = patternBytes(70_000, 11, false);
    b.literal(noise.subarray(0, 3)); // shortest literal
    b.shortCopy(3, 11); // overlapping: a run with a period of 3
    b.copy(1, 64); // a run of one byte
    b.literal(noise.subarray(0, 61)); // literal with a 1-byte length
    for (let i = 0; b.length < 3 * STEP + 777; i++) {
      // elements of every kind, so that some straddle each step boundary
      b.literal(noise.subarray(i % 1000, (i % 1000) + 1 + (i % 70)));
      b.copy(1 + ((i * 7919) % Math.min(b.length, 65_535)), 1 + (i % 64));
      b.shortCopy(1 + ((i * 31) % Math.min(b.length, 2047)), 4 + (i % 8));
    }
    b.literal(patternBytes(STEP + 5000, 12, false)); // a literal longer than a step (4-byte length)
    b.copy(65_535, 64); // the furthest a 2-byte offset reaches
    const input = b.build();
    const ref = snappyUncompress(input, b.length);
    const { out, steps, wholeCalls } = decode(input, b.length);
    expect(Buffer.from(out).equals(Buffer.from(ref))).toBe(true);
    expect(steps.length).toBe(Math.ceil(b.length / STEP));
    expect(wholeCalls).toBe(0);
    for (const window of [7, 4099, 200_000]) {
      const w = decode(input, b.length, window);
      expect(Buffer.from(w.out).equals(Buffer.from(ref))).toBe(true);
      expect(w.wholeCalls).toBe(0);
    }
  });

  it("a copy from further back than the kept 64 KiB decodes the page whole from that step on, with the same bytes", () => {
    const b = new StreamBuilder();
    b.literal(patternBytes(300_000, 13, false));
    b.copy(250_000, 64, true); // 4-byte offset, past any history kept
    b.literal(patternBytes(50, 14, false));
    b.copy(290_000, 33, true);
    const input = b.build();
    const ref = snappyUncompress(input, b.length);
    const { out, wholeCalls } = decode(input, b.length);
    expect(wholeCalls).toBe(1);
    expect(Buffer.from(out).equals(Buffer.from(ref))).toBe(true);
    // fed in windows, the decoder asks for the whole page first
    const w = decode(input, b.length, 10_000);
    expect(w.wholeCalls).toBe(1);
    expect(Buffer.from(w.out).equals(Buffer.from(ref))).toBe(true);
  });
});

describe("snappyPageSteps on corrupt streams", () => {
  const drain = (input: Uint8Array, expected: number): void => {
    const s = snappyPageSteps(wholeInput(input), 0, expected, (i, n) => snappyUncompress(i, n));
    while (s.next() !== undefined);
  };
  const text = patternBytes(400_000, 15, true);
  const packed = snappyCompress(text);

  it("a declared length other than the page's is an error before any output", () => {
    expect(() => snappyPageSteps(wholeInput(packed), 0, text.byteLength + 1, snappyUncompress)).toThrow(/declares 400000 bytes, expected 400001/);
  });

  it("a stream cut short is an error, never a short page", () => {
    expect(() => drain(packed.subarray(0, packed.byteLength - 100), text.byteLength)).toThrow(/ends early|runs past/);
  });

  it("bytes past the declared length are an error", () => {
    const longer = new Uint8Array([...packed, 0, 0x41]);
    expect(() => drain(longer, text.byteLength)).toThrow(/past its declared length/);
  });

  it("a copy reaching before the page start, or with offset 0, is an error", () => {
    expect(() => drain(new StreamBuilder().literal(patternBytes(10, 16, false)).copy(11, 4).build(), 14)).toThrow(/before the page start/);
    expect(() => drain(new StreamBuilder().literal(patternBytes(10, 16, false)).copy(0, 4).build(), 14)).toThrow(/offset 0/);
  });
});
