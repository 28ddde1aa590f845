/**
 * Which pieces a consumer slot reads in an epoch. Slots are `rank × numWorkers + workerId`. Each epoch
 * the piece order is permuted (seeded, when shuffling), then pieces are dealt heaviest-first to the
 * least-loaded slot by estimated records. Every slot computes the same deal, so
 * the slots' piece lists are disjoint and together cover every piece exactly once per epoch.
 */
import { LoaderStateError } from "../src/errors.js";
import type { Piece } from "./plan.js";
import { Rng } from "./random.js";

/** A consumer's position among all consumers. */
export interface ShardSpec {
  /** Training process index. @default 0 */
  rank?: number;
  /** Training processes. @default 1 */
  worldSize?: number;
  /** Loader worker index within the rank. @default 0 */
  workerId?: number;
  /** Loader workers per rank. @default 1 */
  numWorkers?: number;
}

/** Slot index and slot count; validates the ranges. */
export function slotOf(s: ShardSpec): { slot: number; slots: number } {
  const rank = s.rank ?? 0;
  const world = s.worldSize ?? 1;
  const worker = s.workerId ?? 0;
  const workers = s.numWorkers ?? 1;
  for (const [k, v] of [["rank", rank], ["worldSize", world], ["workerId", worker], ["numWorkers", workers]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new LoaderStateError(`${k} must be a non-negative integer, got ${v}`);
  }
  if (world < 1 || rank >= world) throw new LoaderStateError(`rank ${rank} is outside worldSize ${world}`);
  if (workers < 1 || worker >= workers) throw new LoaderStateError(`workerId ${worker} is outside numWorkers ${workers}`);
  return { slot: rank * workers + worker, slots: world * workers };
}

/** Piece order for `epoch`: the plan order, or a permutation seeded by `(seed, epoch)`. */
export function epochOrder(pieces: readonly Piece[], epoch: number, seed: number | undefined): Piece[] {
  const order = pieces.slice();
  if (seed !== undefined) new Rng(seed, 0x5eed0001, epoch).shuffle(order);
  return order;
}

/**
 * The pieces `slot` reads in `epoch`, in reading order (the epoch order). The deal is
 * longest-processing-time first: heaviest piece to the least-loaded slot (ties: earlier in the epoch
 * order, lower slot), within 4/3 of the best possible balance.
 */
export function slotPieces(pieces: readonly Piece[], slot: number, slots: number, epoch: number, seed: number | undefined): Piece[] {
  const order = epochOrder(pieces, epoch, seed);
  const rank = new Map<Piece, number>();
  order.forEach((p, i) => rank.set(p, i));
  const byWeight = order.slice().sort((a, b) => b.weight - a.weight || rank.get(a)! - rank.get(b)!);
  const load = new Float64Array(slots);
  const mine = new Set<Piece>();
  for (const p of byWeight) {
    let best = 0;
    for (let s = 1; s < slots; s++) if (load[s]! < load[best]!) best = s;
    load[best] = load[best]! + p.weight;
    if (best === slot) mine.add(p);
  }
  return order.filter((p) => mine.has(p));
}
