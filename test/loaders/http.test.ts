import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HttpError } from "../../src/errors.js";
import { createLoader } from "../../loaders/index.js";
import type { LoaderOptions } from "../../loaders/index.js";
import { collect, lit, sql, tempDir } from "./helpers.js";
import { startServer } from "./server.js";
import type { TestServer } from "./server.js";

let tmp: ReturnType<typeof tempDir>;
let srv: TestServer;
const fast = { attempts: 4, backoffMs: 2, maxBackoffMs: 10, timeoutMs: 2000 };

beforeAll(async () => {
  tmp = tempDir();
  const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ text: `h${i} ${"ß".repeat(i % 70)}` })).join("\n") + "\n";
  writeFileSync(join(tmp.dir, "d.jsonl"), lines);
  writeFileSync(join(tmp.dir, "d.jsonl.gz"), gzipSync(lines));
  await sql(`COPY (SELECT i AS id, 'p' || i || repeat('q', i % 40) AS text, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) || md5((i + 3)::VARCHAR) || md5((i + 4)::VARCHAR) || md5((i + 5)::VARCHAR) || md5((i + 6)::VARCHAR) || md5((i + 7)::VARCHAR) AS other FROM range(8000) t(i)) TO ${lit(join(tmp.dir, "d.parquet"))} (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
  srv = await startServer(tmp.dir);
});
afterAll(async () => {
  await srv.close();
  tmp.cleanup();
});
beforeEach(() => {
  srv.faults = {};
  srv.hits = [];
  srv.bytesSent = 0;
});

const local = (f: string, o: Partial<LoaderOptions> = {}) => collect(createLoader({ sources: join(tmp.dir, f), ...o }));
const remote = (f: string, o: Partial<LoaderOptions> = {}) => collect(createLoader({ sources: `${srv.url}/${f}`, http: fast, ...o }));
const texts = (ds: { text?: string | null }[]) => ds.map((d) => d.text);

describe("HTTP sources", () => {
  it("jsonl, jsonl.gz and parquet over HTTP equal the local reads", async () => {
    for (const f of ["d.jsonl", "d.jsonl.gz", "d.parquet"]) expect(texts(await remote(f)), f).toEqual(texts(await local(f)));
  });

  it("parquet is read by range requests: footer, then only the needed column chunks", async () => {
    await remote("d.parquet");
    const gets = srv.hits.filter((h) => h.method === "GET");
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((h) => h.range !== undefined)).toBe(true);
    expect(srv.bytesSent).toBeLessThan(statSync(join(tmp.dir, "d.parquet")).size * 0.8); // the `other` column is skipped
  });

  it("404 and 403 fail at once with an HttpError carrying url and status", async () => {
    for (const status of [404, 403]) {
      srv.hits = [];
      srv.faults = { status: { "/d.jsonl": status } };
      const err = (await remote("d.jsonl").catch((e: unknown) => e)) as HttpError;
      expect(err).toBeInstanceOf(HttpError);
      expect(err.context).toMatchObject({ url: `${srv.url}/d.jsonl`, status });
      expect(err.attempts).toBe(1);
      expect(srv.hits.length).toBe(1);
    }
  });

  it("5xx and connection resets are retried, then succeed", async () => {
    srv.faults = { fail5xx: 3 };
    expect(texts(await remote("d.jsonl"))).toEqual(texts(await local("d.jsonl")));
    srv.faults = { resets: 3 };
    expect(texts(await remote("d.parquet"))).toEqual(texts(await local("d.parquet")));
  });

  it("persistent 5xx gives up after the configured attempts and says so", async () => {
    srv.faults = { status: { "/d.jsonl": 500 } };
    const err = (await remote("d.jsonl").catch((e: unknown) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.attempts).toBe(4);
    expect(err.message).toMatch(/after 4 attempts/);
    expect(srv.hits.length).toBe(4 + 0); // HEAD tries (GET fallback only on 405/501)
  });

  it("bodies cut mid-way resume by Range with no lost or repeated document", async () => {
    for (const f of ["d.jsonl", "d.jsonl.gz"]) {
      srv.hits = [];
      srv.faults = { cuts: 3, cutAfter: 5000 };
      expect(texts(await remote(f)), f).toEqual(texts(await local(f)));
      const resumed = srv.hits.filter((h) => h.method === "GET" && h.range && !h.range.startsWith("bytes=0-"));
      expect(resumed.length, f).toBeGreaterThanOrEqual(3);
    }
  });

  it("a stalled body times out and is retried by range", async () => {
    srv.faults = { stalls: 2 };
    const docs = await remote("d.jsonl", { http: { ...fast, timeoutMs: 300 } });
    expect(texts(docs)).toEqual(texts(await local("d.jsonl")));
    expect(srv.hits.filter((h) => h.method === "GET").length).toBeGreaterThanOrEqual(3);
  });

  it("a throttled server still delivers everything", async () => {
    srv.faults = { throttleBytes: 16 * 1024, throttleMs: 1 };
    expect(texts(await remote("d.jsonl"))).toEqual(texts(await local("d.jsonl")));
  });

  it("sharded and resumed over HTTP like local files", async () => {
    const per = await Promise.all([0, 1].map((rank) => remote("d.jsonl", { rank, worldSize: 2, pieceBytes: 20000 })));
    expect(texts(per.flat()).sort()).toEqual(texts(await local("d.jsonl")).sort());
  });
});
