/**
 * The byte-pair merge: given a piece as a sequence of symbol ids, repeatedly merge the adjacent
 * pair with the lowest priority (leftmost on ties) until no pair merges. This is tiktoken's and
 * HF `tokenizers`' shared rule. Short pieces use tiktoken's flat scan (O(n²) but cache-friendly);
 * long pieces (a 1 MB line of letters, SentencePiece models with no pre-tokenizer) use a linked
 * list and a binary heap, O(n log n), as HF does.
 *
 * Performance notes: all state lives in scratch typed arrays grown on demand and reused; nothing is
 * allocated per symbol. The flat scan wins below ~64 symbols (measured ~2× on en text), where the heap's
 * bookkeeping costs more than the rescans it saves.
 */
import { NO_MERGE, type PairTable } from "./pair-table.js";
import { OutOfSpace } from "../hf/components.js";

const HEAP_THRESHOLD = 24;

export class BpeMerger {
  private readonly pairs: PairTable;
  private sym = new Uint32Array(256);
  private pri = new Uint32Array(256);
  /** Merged id of each pair in `pri` (valid where pri is not NO_MERGE). */
  private res = new Uint32Array(256);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private heap = new Float64Array(0);
  private heapLen = 0;

  constructor(pairs: PairTable) {
    this.pairs = pairs;
  }

  /** Scratch array for the caller to fill with `n` initial symbols before calling `merge`. */
  symbols(n: number): Uint32Array {
    if (this.sym.length < n) {
      this.sym = new Uint32Array(n * 2);
      this.pri = new Uint32Array(n * 2);
      this.res = new Uint32Array(n * 2);
    }
    return this.sym;
  }

  /** Merges `symbols()[0..n)` and writes the resulting ids to `out` from `pos`; returns the new position. */
  merge(n: number, out: Uint32Array, pos: number): number {
    return n > HEAP_THRESHOLD ? this.mergeHeap(n, out, pos) : this.mergeScan(n, out, pos);
  }

  private mergeScan(n: number, out: Uint32Array, pos: number): number {
    const sym = this.sym;
    const pri = this.pri;
    const res = this.res;
    const pairs = this.pairs;
    for (let i = 0; i + 1 < n; i++) {
      pri[i] = pairs.lookup(sym[i]!, sym[i + 1]!);
      res[i] = pairs.lastMerged;
    }
    while (n > 1) {
      let best = NO_MERGE;
      let at = -1;
      for (let i = 0; i + 1 < n; i++) {
        const p = pri[i]!;
        if (p < best) {
          best = p;
          at = i;
        }
      }
      if (at < 0) break;
      sym[at] = res[at]!;
      for (let i = at + 1; i + 1 < n; i++) {
        sym[i] = sym[i + 1]!;
        pri[i] = pri[i + 1]!;
        res[i] = res[i + 1]!;
      }
      n--;
      if (at + 1 < n) {
        pri[at] = pairs.lookup(sym[at]!, sym[at + 1]!);
        res[at] = pairs.lastMerged;
      } else pri[at] = NO_MERGE;
      if (at > 0) {
        pri[at - 1] = pairs.lookup(sym[at - 1]!, sym[at]!);
        res[at - 1] = pairs.lastMerged;
      }
    }
    if (pos + n > out.length) throw new OutOfSpace();
    for (let i = 0; i < n; i++) out[pos++] = sym[i]!;
    return pos;
  }

  private mergeHeap(n: number, out: Uint32Array, pos: number): number {
    if (this.next.length < n) {
      this.next = new Int32Array(n * 2);
      this.prev = new Int32Array(n * 2);
      this.heap = new Float64Array(n * 3 + 16);
    }
    const sym = this.sym;
    const next = this.next;
    const prev = this.prev;
    const pairs = this.pairs;
    this.heapLen = 0;
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    for (let i = 0; i + 1 < n; i++) {
      const p = pairs.priorityOf(sym[i]!, sym[i + 1]!);
      if (p !== NO_MERGE) this.push(p * 4294967296 + i);
    }
    while (this.heapLen > 0) {
      const key = this.pop();
      const p = Math.floor(key / 4294967296);
      const at = key - p * 4294967296;
      const right = next[at]!;
      // Stale entries: the left symbol was merged away (prev = -2), or the pair changed.
      if (right < 0 || prev[at] === -2) continue;
      if (pairs.lookup(sym[at]!, sym[right]!) !== p) continue;
      sym[at] = pairs.lastMerged;
      const after = next[right]!;
      next[at] = after;
      if (after >= 0) prev[after] = at;
      prev[right] = -2;
      next[right] = -1;
      const before = prev[at]!;
      if (before >= 0) {
        const q = pairs.priorityOf(sym[before]!, sym[at]!);
        if (q !== NO_MERGE) this.push(q * 4294967296 + before);
      }
      if (after >= 0) {
        const q = pairs.priorityOf(sym[at]!, sym[after]!);
        if (q !== NO_MERGE) this.push(q * 4294967296 + at);
      }
    }
    for (let i = 0; i >= 0; i = next[i]!) {
      if (pos >= out.length) throw new OutOfSpace();
      out[pos++] = sym[i]!;
    }
    return pos;
  }

  // Binary min-heap of keys priority * 2^32 + position (lowest priority first, then leftmost; exact in
  // a double). Methods on the merger rather than closures: a closure over a mutable length puts it in a
  // heap-allocated context, which made every push/pop slower.
  private push(key: number): void {
    const heap = this.heap;
    let i = this.heapLen++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = heap[parent]!;
      if (pk <= key) break;
      heap[i] = pk;
      i = parent;
    }
    heap[i] = key;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const len = --this.heapLen;
    const last = heap[len]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= len) break;
      if (c + 1 < len && heap[c + 1]! < heap[c]!) c++;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  }
}
