/**
 * First-touch page faults of new memory, taken on a second thread. On this VM writing to memory for
 * the first time runs at ~340 MB/s per thread (a page fault per 4 KiB) against ~15 GB/s for memory
 * already mapped, and faults in one process do run in parallel on two threads (400 MB: 1.17 s on one
 * thread, 0.67 s split over two). A large parquet page buffer — duckdb's default row groups make one
 * of ~190 MB per text column chunk — is therefore allocated as a SharedArrayBuffer and handed to a
 * helper thread that maps its pages from the end backwards while the reader fills it from the start;
 * they meet somewhere in the middle, so the faults take about half as long.
 *
 * The helper touches each page with an atomic add of zero: it maps the page for writing without ever
 * changing a byte, so it is harmless when the reader has already written there. It is a tiny inline
 * worker (no module graph), started on first use, never keeping the process alive; where a worker
 * cannot start, nothing is prefaulted and reads work as before.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/**
 * Blocks smaller than this are faulted by the reader itself. Reused row group after row group, their
 * first touch is a small part of a read, and the helper costs a thread: on 10k-row groups (~15 MB
 * pages) it added ~25 MB of peak RSS for no gain.
 */
export const PREFAULT_MIN_BYTES = 32 << 20;

const PAGE = 4096;

/** The helper's code: for each block, from the last page to the first, one atomic add of 0 per page. */
const HELPER = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => {
  if (m === null) return parentPort.postMessage("idle");
  const words = new Int32Array(m.sab, m.from, (m.to - m.from) >>> 2);
  for (let i = ((words.length - 1) & ~${PAGE / 4 - 1}); i >= 0; i -= ${PAGE / 4}) Atomics.add(words, i, 0);
});`;

let helper: Worker | null | undefined;

function helperThread(): Worker | null {
  if (helper === undefined) {
    helper = null;
    if (availableParallelism() >= 2) {
      try {
        const w = new Worker(HELPER, { eval: true, stdout: false, stderr: false });
        w.unref();
        w.on("error", () => {
          if (helper === w) helper = null;
        });
        helper = w;
      } catch {
        helper = null; // no worker threads here: the reader takes the faults
      }
    }
  }
  return helper;
}

/**
 * `bytes` of zeroed memory whose pages a helper thread starts mapping now (from the end), when it is
 * large enough and a second core exists; plain memory otherwise. The caller may write at once.
 */
export function prefaultedBytes(bytes: number): Uint8Array {
  if (bytes < PREFAULT_MIN_BYTES) return new Uint8Array(bytes);
  const w = helperThread();
  if (w === null) return new Uint8Array(bytes);
  const sab = new SharedArrayBuffer(bytes);
  w.postMessage({ sab, from: 0, to: bytes });
  return new Uint8Array(sab);
}

/**
 * Has the helper map bytes `[from, to)` of `sab` (from the end backwards) when the range is large
 * enough and a second core exists; the caller may write there at once. For memory that is already
 * shared, such as a shared WebAssembly memory just grown.
 */
export function prefaultRange(sab: SharedArrayBuffer, from: number, to: number): void {
  if (to - from < PREFAULT_MIN_BYTES) return;
  const w = helperThread();
  const start = Math.ceil(from / PAGE) * PAGE; // page-aligned, so every word index is too (no 32-bit bit ops: memories reach 4 GiB)
  if (w !== null && to > start) w.postMessage({ sab, from: start, to });
}

/** Resolves once the helper has mapped every block handed to it so far (tests). */
export function prefaultIdle(): Promise<void> {
  const w = helper;
  if (w === null || w === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    w.once("message", () => resolve());
    w.postMessage(null);
  });
}

/** Stops the helper thread (tests; a process exits without it). */
export async function stopPrefaultHelper(): Promise<void> {
  const w = helper;
  helper = undefined;
  await w?.terminate();
}
