/** A tiny byte-level Tokenizer for SFT unit tests: UTF-8 bytes are ids 0..255, specials follow. */
import type { EncodeOptions, Tokenizer } from "../../src/tokenizers/types.js";

export function byteTokenizer(specials: readonly string[], eos?: string): Tokenizer {
  const specialTokens = new Map(specials.map((s, i) => [s, 256 + i] as const));
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const encode = (text: string, options?: EncodeOptions): Uint32Array => {
    const allowed = options?.allowedSpecial ?? "none";
    const out: number[] = [];
    let i = 0;
    outer: while (i < text.length) {
      if (allowed !== "none") {
        for (const [s, id] of specialTokens) {
          if ((allowed === "all" || allowed.includes(s)) && text.startsWith(s, i)) {
            out.push(id);
            i += s.length;
            continue outer;
          }
        }
      }
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of enc.encode(ch)) out.push(b);
      i += ch.length;
    }
    return Uint32Array.from(out);
  };
  const decode = (ids: ArrayLike<number>): string => {
    let s = "";
    let bytes: number[] = [];
    const flush = (): void => {
      s += dec.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id < 256) bytes.push(id);
      else {
        flush();
        s += specials[id - 256] ?? "";
      }
    }
    flush();
    return s;
  };
  return {
    name: "byte-fake",
    vocabSize: 256 + specials.length,
    special: { bos: undefined, eos: eos === undefined ? undefined : specialTokens.get(eos), pad: undefined, unk: undefined },
    specialTokens,
    lossless: true,
    encode,
    encodeInto(text, out, offset = 0, options) {
      const ids = encode(text, options);
      if (offset + ids.length > out.length) throw new RangeError(`need ${offset + ids.length}`);
      out.set(ids, offset);
      return ids.length;
    },
    countTokens: (text, options) => encode(text, options).length,
    decode,
    idToToken: (id) => (id < 256 ? String.fromCharCode(id) : specials[id - 256]),
    tokenToId: (t) => specialTokens.get(t),
    tokenBytes: (id) => (id < 256 ? Uint8Array.of(id) : enc.encode(specials[id - 256] ?? "")),
  };
}
