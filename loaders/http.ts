/**
 * HTTP(S) byte sources over undici: `slice` and `stream` are one range GET each that, when the
 * body is cut mid-way (reset, timeout, short body), continues with `Range: bytes=<received>-` so no
 * byte is lost or repeated. 5xx / 408 / 429 / network errors are retried with exponential backoff up
 * to `attempts` tries in a row without progress; other 4xx answers fail at once.
 */
import type { Dispatcher } from "undici";
import { HttpError, TokpackError } from "../src/errors.js";
import type { ByteSource } from "./types.js";

/** Retry and timeout policy for HTTP sources. */
export interface HttpOptions {
  /** Tries per request (and per resume point of a stream) before giving up. @default 5 */
  attempts?: number;
  /** First backoff delay; doubles per failed try. @default 250 */
  backoffMs?: number;
  /** Cap on one backoff delay. @default 8000 */
  maxBackoffMs?: number;
  /** Time allowed for response headers, and between body chunks. @default 30000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** undici dispatcher (agent, proxy); the global one by default. */
  dispatcher?: Dispatcher;
}

/** True for `http://` and `https://` addresses. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Statuses worth another try; every other non-2xx status fails at once. */
function retriable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

class Attempt {
  failures = 0;
  last: unknown;
  lastStatus: number | undefined;
  constructor(readonly url: string, readonly o: Required<Omit<HttpOptions, "headers" | "dispatcher">> & HttpOptions) {}

  /** Records a retriable failure; waits the backoff, or throws when the tries are used up. */
  async fail(err: unknown, status?: number): Promise<void> {
    this.failures++;
    this.last = err;
    this.lastStatus = status;
    if (this.failures >= this.o.attempts) {
      const why = status !== undefined ? `server answered ${status}` : (err as Error)?.message ?? String(err);
      throw new HttpError(`request failed after ${this.failures} attempts (${why})`, { url: this.url, ...(status !== undefined ? { status } : {}) }, this.failures, { cause: err });
    }
    const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (this.failures - 1));
    await new Promise((r) => setTimeout(r, delay));
  }
}

function withDefaults(o: HttpOptions): Required<Omit<HttpOptions, "headers" | "dispatcher">> & HttpOptions {
  return { attempts: 5, backoffMs: 250, maxBackoffMs: 8000, timeoutMs: 30_000, ...o };
}

/** undici, imported on the first request: it takes ~130 ms to load, which local-only runs (and every worker thread) would pay. */
function undici(): Promise<typeof import("undici")> {
  return import("undici");
}

/** One request with retries; returns the response with a 2xx status (body unread). */
async function send(url: string, o: ReturnType<typeof withDefaults>, method: "GET" | "HEAD", range: string | undefined, att: Attempt): Promise<Dispatcher.ResponseData<unknown>> {
  for (;;) {
    let res: Dispatcher.ResponseData<unknown>;
    try {
      res = await (await undici()).request(url, {
        method,
        headers: { ...o.headers, ...(range ? { range } : {}) },
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      } as Parameters<typeof import("undici").request>[1]);
    } catch (err) {
      await att.fail(err);
      continue;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    await res.body.dump().catch(() => undefined);
    if (!retriable(res.statusCode)) {
      const hint = res.statusCode === 404 ? "not found" : res.statusCode === 403 || res.statusCode === 401 ? "access denied: check the URL and credentials" : "request rejected";
      throw new HttpError(hint, { url, status: res.statusCode }, att.failures + 1);
    }
    await att.fail(new Error(`HTTP ${res.statusCode}`), res.statusCode);
  }
}

/** Size of the resource: HEAD's content-length, else a 1-byte range GET's Content-Range total. */
async function probeLength(url: string, o: ReturnType<typeof withDefaults>): Promise<number> {
  const head = await send(url, o, "HEAD", undefined, new Attempt(url, o)).catch((e: unknown) => {
    if (e instanceof HttpError && e.context.status !== undefined && e.context.status !== 405 && e.context.status !== 501) throw e;
    return undefined;
  });
  const len = Number(head?.headers["content-length"]);
  if (head && Number.isFinite(len) && head.headers["content-encoding"] === undefined) return len;
  const res = await send(url, o, "GET", "bytes=0-0", new Attempt(url, o));
  await res.body.dump().catch(() => undefined);
  const m = /\/(\d+)\s*$/.exec(String(res.headers["content-range"] ?? ""));
  if (!m) throw new HttpError("server gives no content length and no Content-Range; cannot read it by ranges", { url, status: res.statusCode }, 1);
  return Number(m[1]);
}

/** Opens a URL as a {@link ByteSource} (one HEAD to learn its size). */
export async function httpSource(url: string, options: HttpOptions = {}): Promise<ByteSource> {
  const o = withDefaults(options);
  const size = await probeLength(url, o);
  return {
    name: url,
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      end = Math.min(end, size);
      if (end <= start) return new ArrayBuffer(0);
      // one range request, resumed like a stream when cut: a large column chunk is not re-fetched
      const out = new Uint8Array(end - start);
      let at = 0;
      for await (const c of streamRange(url, o, start, end)) {
        out.set(c, at);
        at += c.byteLength;
      }
      return out.buffer;
    },
    stream: (start = 0, end = size) => streamRange(url, o, start, Math.min(end, size)),
  };
}

/** Chunks of `[start, end)`, resuming by range after a cut. Attempts reset after each chunk of progress. */
async function* streamRange(url: string, o: ReturnType<typeof withDefaults>, start: number, end: number): AsyncIterable<Uint8Array> {
  let pos = start;
  let att = new Attempt(url, o);
  while (pos < end) {
    const res = await send(url, o, "GET", `bytes=${pos}-${end - 1}`, att);
    let skip = 0;
    if (res.statusCode === 200) skip = pos; // server ignored Range: drop what we already have
    else if (res.statusCode !== 206) {
      await res.body.dump().catch(() => undefined);
      throw new HttpError(`unexpected status ${res.statusCode} for a range request`, { url, status: res.statusCode }, att.failures + 1);
    }
    try {
      for await (const raw of res.body as AsyncIterable<Buffer>) {
        let c = raw;
        if (skip > 0) {
          if (c.length <= skip) {
            skip -= c.length;
            continue;
          }
          c = c.subarray(skip);
          skip = 0;
        }
        if (c.length > end - pos) c = c.subarray(0, end - pos);
        pos += c.length;
        if (att.failures > 0) att = new Attempt(url, o);
        yield c;
        if (pos >= end) break;
      }
    } catch (err) {
      if (err instanceof TokpackError) throw err;
      res.body.destroy();
      await att.fail(err);
      continue;
    }
    if (pos < end) {
      res.body.destroy();
      await att.fail(new Error(`body ended at byte ${pos} of ${end}`));
    }
  }
}
