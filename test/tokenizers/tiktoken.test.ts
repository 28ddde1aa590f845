/**
 * tiktoken encodings against the `tiktoken` npm package (OpenAI's Rust core compiled to WASM):
 * `encode_ordinary` for the default call, `encode(text, "all")` with specials allowed.
 */
import { describe, expect, it } from "vitest";
import { get_encoding, type TiktokenEncoding } from "tiktoken";
import { loadTokenizer } from "../../src/tokenizers/load.js";
import { corpus, edgeCases, mismatches } from "./corpus.js";
import { hasShared } from "../shared.js";

const ENCODINGS: TiktokenEncoding[] = ["cl100k_base", "o200k_base", "r50k_base", "p50k_base"];

describe.runIf(hasShared())("tiktoken encodings match the tiktoken package", () => {
  const sets = { en: corpus("en"), code: corpus("code"), multi: corpus("multi"), edge: edgeCases() };
  for (const name of ENCODINGS) {
    for (const [set, docs] of Object.entries(sets)) {
      if (name === "p50k_base" && set !== "edge" && set !== "code") continue; // p50k: code (its whitespace tokens) + edge cases
      it(`${name} on ${set} (${docs.length} docs): encode_ordinary`, async () => {
        const ours = await loadTokenizer(name);
        const ref = get_encoding(name);
        try {
          expect(mismatches(docs, (t) => ours.encode(t), (t) => ref.encode_ordinary(t))).toEqual([]);
        } finally {
          ref.free();
        }
      });
    }
    it(`${name}: specials allowed ("all") on edge cases and code`, async () => {
      const ours = await loadTokenizer(name);
      const ref = get_encoding(name);
      try {
        const docs = [...edgeCases().slice(0, -1), ...sets.code.filter((d) => d.includes("<|"))];
        expect(mismatches(docs, (t) => ours.encode(t, { allowedSpecial: "all" }), (t) => ref.encode(t, "all"))).toEqual([]);
      } finally {
        ref.free();
      }
    });
  }

  it("decode of arbitrary id sequences (split UTF-8, specials anywhere) equals tiktoken's, lossy as TextDecoder", async () => {
    for (const name of ["cl100k_base", "o200k_base"] as TiktokenEncoding[]) {
      const ours = await loadTokenizer(name);
      const ref = get_encoding(name);
      try {
        const specials = [...ours.specialTokens.values()];
        let seed = 11;
        const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
        for (let k = 0; k < 200; k++) {
          const ids = Uint32Array.from({ length: 1 + (next() % 60) }, () => (next() % 10 === 0 ? specials[next() % specials.length]! : next() % 100_000));
          expect(ours.decode(ids)).toBe(new TextDecoder().decode(ref.decode(ids)));
        }
      } finally {
        ref.free();
      }
    }
  });

  it("decode round-trips every document", async () => {
    const ours = await loadTokenizer("o200k_base");
    for (const docs of Object.values(sets)) {
      for (const d of docs) expect(ours.decode(ours.encode(d))).toBe(d.toWellFormed());
    }
  });
});
