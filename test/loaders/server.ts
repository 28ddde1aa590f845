/**
 * A local HTTP server on 127.0.0.1 for the HTTP loader tests. Serves files from a folder with Range
 * support, and misbehaves on command: fixed statuses, N failures before success, bodies cut after K
 * bytes (socket destroyed), connection resets before headers, throttled writes.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What the server should do; tests mutate it between requests. */
export interface Faults {
  /** Status for every request to this path (e.g. 404, 403, 500). */
  status?: Record<string, number>;
  /** Answer this many GETs with 503 before serving. */
  fail5xx?: number;
  /** Cut this many GET bodies after `cutAfter` bytes. */
  cuts?: number;
  cutAfter?: number;
  /** Destroy the socket before sending headers on this many requests. */
  resets?: number;
  /** Send headers, then nothing, on this many GETs (the client's body timeout must fire). */
  stalls?: number;
  /** Write bodies in chunks of this size with a pause between them. */
  throttleBytes?: number;
  throttleMs?: number;
}

/** Request log entry. */
export interface Hit {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
}

export interface TestServer {
  url: string;
  faults: Faults;
  hits: Hit[];
  bytesSent: number;
  close(): Promise<void>;
}

/** Starts the server on an ephemeral port of 127.0.0.1. */
export async function startServer(root: string): Promise<TestServer> {
  const state: TestServer = { url: "", faults: {}, hits: [], bytesSent: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const f = state.faults;
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    const range = req.headers.range;
    const log = (status: number) => state.hits.push({ method: req.method ?? "", path, range, status });
    if (f.resets && f.resets > 0) {
      f.resets--;
      log(0);
      req.socket.destroy();
      return;
    }
    const fixed = f.status?.[path];
    if (fixed) {
      log(fixed);
      res.writeHead(fixed).end("no");
      return;
    }
    if (req.method === "GET" && f.fail5xx && f.fail5xx > 0) {
      f.fail5xx--;
      log(503);
      res.writeHead(503).end("busy");
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(join(root, path));
    } catch {
      log(404);
      res.writeHead(404).end("missing");
      return;
    }
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) {
        log(416);
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    log(status);
    const part = body.subarray(start, end + 1);
    const headers: Record<string, string | number> = { "content-length": part.length, "accept-ranges": "bytes" };
    if (status === 206) headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (f.stalls && f.stalls > 0) {
      f.stalls--;
      res.flushHeaders();
      return; // never writes the body; closeAllConnections() ends it at shutdown
    }
    if (f.cuts && f.cuts > 0 && f.cutAfter !== undefined && part.length > f.cutAfter) {
      f.cuts--;
      res.write(part.subarray(0, f.cutAfter), () => {
        state.bytesSent += f.cutAfter ?? 0;
        setTimeout(() => res.socket?.destroy(), 5);
      });
      return;
    }
    if (f.throttleBytes) {
      for (let p = 0; p < part.length; p += f.throttleBytes) {
        if (res.destroyed) return;
        const ok = res.write(part.subarray(p, p + f.throttleBytes));
        state.bytesSent += Math.min(f.throttleBytes, part.length - p);
        if (!ok) await new Promise((r) => res.once("drain", r));
        await new Promise((r) => setTimeout(r, f.throttleMs ?? 1));
      }
      res.end();
      return;
    }
    state.bytesSent += part.length;
    res.end(part);
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no address");
  state.url = `http://127.0.0.1:${addr.port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
