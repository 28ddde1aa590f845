import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUNGRY } from "../../loaders/page-steps.js";
import { zstdDecoder, zstdDecompressInto, zstdDecompressOneShot, zstdDecompressStepped, zstdDecompressStreaming, zstdOneShot, zstdPageSteps } from "../../loaders/zstd.js";
import { lit, sql, tempDir, windowed } from "./helpers.js";

describe("zstd pages: one-shot decode against zstddec's streaming decoder", () => {
  let tmp: ReturnType<typeof tempDir>;
  let frame: Uint8Array; // one zstd stream written by duckdb
  let plain: Uint8Array; // its content, through zstddec's own streaming API
  beforeAll(async () => {
    tmp = tempDir();
    const f = join(tmp.dir, "t.jsonl.zst");
    await sql(`COPY (SELECT i AS id, repeat('zstd page ü界 ' || i || ' ', (i * 13) % 50) AS text FROM range(20000) t(i)) TO ${lit(f)} (FORMAT json, COMPRESSION zstd)`);
    frame = readFileSync(f);
    const dec = await zstdDecoder();
    const parts = [...dec.decodeStreaming([frame])];
    plain = Buffer.concat(parts);
  });
  afterAll(() => tmp.cleanup());

  it("uses the one-shot instance of zstddec's module", () => {
    expect(zstdOneShot()).toBe(true);
  });

  it("decodes one frame and concatenated frames exactly", () => {
    expect(plain.length).toBeGreaterThan(1 << 20);
    expect(Buffer.from(zstdDecompressInto(frame, new Uint8Array(plain.length))).equals(Buffer.from(plain))).toBe(true);
    const two = Buffer.concat([frame, frame]);
    const out = zstdDecompressInto(two, new Uint8Array(2 * plain.length));
    expect(Buffer.from(out).equals(Buffer.concat([plain, plain]))).toBe(true);
    // the one-shot path (pages up to 1 MiB), forced for this larger page
    expect(Buffer.from(zstdDecompressOneShot(two, new Uint8Array(2 * plain.length))).equals(Buffer.concat([plain, plain]))).toBe(true);
    // the stepped path (pages over 32 MiB) and zstddec's streaming API (the fallback) agree
    expect(Buffer.from(zstdDecompressStepped(frame, new Uint8Array(plain.length))).equals(Buffer.from(plain))).toBe(true);
    expect(Buffer.from(zstdDecompressStepped(two, new Uint8Array(2 * plain.length))).equals(Buffer.concat([plain, plain]))).toBe(true);
    // its input fed through windows smaller than the page, ending anywhere in a block or between frames
    expect(frame.length).toBeGreaterThan(10 * 4096);
    for (const window of [4096, 1000, frame.length]) {
      expect(Buffer.from(zstdDecompressStepped(two, new Uint8Array(2 * plain.length), window)).equals(Buffer.concat([plain, plain])), `window ${window}`).toBe(true);
    }
    expect(Buffer.from(zstdDecompressStreaming(frame, new Uint8Array(plain.length))).equals(Buffer.from(plain))).toBe(true);
  });

  it("page steps over input that arrives a window at a time (as a large page is read) decode exactly; a cut page is an error", () => {
    const two = Buffer.concat([frame, frame]);
    const want = Buffer.concat([plain, plain]);
    const drain = (bytes: Uint8Array, expected: number, window: number): { out: Buffer; loads: number } => {
      const input = windowed(bytes, window);
      const steps = zstdPageSteps(input, 0, expected);
      const parts: Uint8Array[] = [];
      try {
        for (let v = steps.next(); v !== undefined; v = steps.next()) {
          if (v === HUNGRY) input.load();
          else parts.push(v.slice());
        }
      } finally {
        steps.close();
      }
      return { out: Buffer.concat(parts), loads: input.loads };
    };
    for (const window of [777, 4096, 70_000, two.length]) {
      const { out, loads } = drain(two, want.length, window);
      expect(out.equals(want), `window ${window}`).toBe(true);
      expect(loads).toBe(Math.ceil(two.length / window) - 1);
    }
    expect(() => drain(two.subarray(0, two.length - 500), want.length, 4096)).toThrow(/corrupt/);
  });

  it.each([
    ["the page's own path", zstdDecompressInto],
    ["one shot", zstdDecompressOneShot],
    ["stepped", (input: Uint8Array, out: Uint8Array) => zstdDecompressStepped(input, out)],
    ["stepped, 1000-byte input window", (input: Uint8Array, out: Uint8Array) => zstdDecompressStepped(input, out, 1000)],
  ] as const)("%s: rejects a wrong size, corrupt bytes and a cut page with an error", (_, decode) => {
    expect(() => decode(frame, new Uint8Array(plain.length - 1))).toThrow(/corrupt/);
    expect(() => decode(frame, new Uint8Array(plain.length + 1))).toThrow(/decompressed to \d+ bytes, expected/);
    const bad = Buffer.from(frame);
    for (let i = 100; i < 132; i++) bad[i] = bad[i]! ^ 0xa5;
    expect(() => decode(bad, new Uint8Array(plain.length))).toThrow(/corrupt/);
    expect(() => decode(frame.subarray(0, frame.length >> 1), new Uint8Array(plain.length))).toThrow(/corrupt/);
    // still decodes afterwards
    expect(Buffer.from(decode(frame, new Uint8Array(plain.length))).equals(Buffer.from(plain))).toBe(true);
  });
});
