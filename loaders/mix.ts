/**
 * Weighted mixing of several loaders: each document comes from a source drawn with probability
 * proportional to its weight, from one seeded PRNG, so the interleave is the same on every machine.
 * Per-source repetition is the source loader's own `epochs`. When a source runs out it leaves the
 * draw (`all_exhausted`, the default) or ends the mix (`first_exhausted`, as HF `interleave_datasets`).
 */
import { LoaderStateError } from "../src/errors.js";
import { Loader } from "./loader.js";
import type { LoaderOptions, LoaderState } from "./loader.js";
import { Rng, seedWord } from "./random.js";
import type { RngState } from "./random.js";
import type { Document, LoaderStats } from "./types.js";

/** One mixed source: loader options (without `state`) and a positive weight. */
export interface MixSource {
  loader: Omit<LoaderOptions, "state">;
  weight: number;
}

/** Options for {@link mixLoaders}. */
export interface MixOptions {
  /** Seed of the source draw. */
  seed: number | string;
  /** @default "all_exhausted" */
  stopping?: "all_exhausted" | "first_exhausted";
  /** Resume from {@link MixedLoader.state}. */
  state?: MixState;
}

/** Position of a mix: the draw PRNG, which sources are done, and each source loader's state. */
export interface MixState {
  v: 1;
  rng: RngState;
  done: boolean[];
  sources: (LoaderState | null)[];
  docs: number;
}

/** The interleaved stream. */
export class MixedLoader implements AsyncIterableIterator<Document> {
  private readonly loaders: Loader[];
  private readonly weights: number[];
  private readonly done: boolean[];
  private readonly rng: Rng;
  private readonly stopping: "all_exhausted" | "first_exhausted";
  private readonly started: boolean[];
  private readonly initial: (LoaderState | null)[];
  private docs = 0;
  private finished = false;

  constructor(sources: readonly MixSource[], opts: MixOptions) {
    if (sources.length === 0) throw new LoaderStateError("mixLoaders needs at least one source");
    for (const s of sources) if (!(s.weight > 0) || !Number.isFinite(s.weight)) throw new LoaderStateError(`mix weights must be positive numbers, got ${s.weight}`);
    const st = opts.state;
    if (st && (st.v !== 1 || st.sources.length !== sources.length)) throw new LoaderStateError(`mix state has ${st.sources.length} sources, this mix has ${sources.length}`);
    this.initial = st ? st.sources.slice() : sources.map(() => null);
    this.loaders = sources.map((s, i) => new Loader({ ...s.loader, ...(this.initial[i] ? { state: this.initial[i]! } : {}) }));
    this.started = sources.map(() => false);
    this.weights = sources.map((s) => s.weight);
    this.done = st ? st.done.slice() : sources.map(() => false);
    this.rng = st ? Rng.from(st.rng) : new Rng(seedWord(opts.seed), 0x6d1c0001);
    this.docs = st?.docs ?? 0;
    this.stopping = opts.stopping ?? "all_exhausted";
  }

  private draw(): number {
    let total = 0;
    for (let i = 0; i < this.weights.length; i++) if (!this.done[i]) total += this.weights[i]!;
    let x = this.rng.nextFloat() * total;
    let last = -1;
    for (let i = 0; i < this.weights.length; i++) {
      if (this.done[i]) continue;
      last = i;
      x -= this.weights[i]!;
      if (x < 0) return i;
    }
    return last;
  }

  async next(): Promise<IteratorResult<Document>> {
    while (!this.finished && this.done.some((d) => !d)) {
      const i = this.draw();
      this.started[i] = true;
      const r = await this.loaders[i]!.next();
      if (!r.done) {
        this.docs++;
        return r;
      }
      this.done[i] = true;
      if (this.stopping === "first_exhausted") break;
    }
    await this.close();
    return { done: true, value: undefined };
  }

  /** Exact position of the mix and of every source. */
  state(): MixState {
    return {
      v: 1,
      rng: this.rng.state(),
      done: this.done.slice(),
      sources: this.loaders.map((l, i) => (this.started[i] ? l.state() : this.initial[i] ?? null)),
      docs: this.docs,
    };
  }

  /** Per-source counters. */
  stats(): LoaderStats[] {
    return this.loaders.map((l) => l.stats());
  }

  async close(): Promise<void> {
    this.finished = true;
    await Promise.all(this.loaders.map((l) => l.close()));
  }

  async return(): Promise<IteratorResult<Document>> {
    await this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Document> {
    return this;
  }
}

/** Interleaves several loaders by weight, deterministically by `opts.seed`. */
export function mixLoaders(sources: readonly MixSource[], opts: MixOptions): MixedLoader {
  return new MixedLoader(sources, opts);
}
