/** HF decoders: `ByteLevel`, `Replace`, `ByteFallback`, `Fuse`, `Strip`, `Metaspace`, `WordPiece`, `BPEDecoder`, `Sequence`. */
import { VocabFormatError } from "../../errors.js";
import type { Decoder } from "./components.js";
import { unicodeToByte } from "./byte-level.js";
import { patternOf, type HfPattern } from "./patterns.js";
import { createWordPieceDecoder } from "./wordpiece.js";
import { utf8DecodeLossy, utf8DecodeStrict } from "../utf8.js";

interface DecoderJson {
  type: string;
  decoders?: DecoderJson[];
  pattern?: HfPattern;
  content?: string;
  start?: number;
  stop?: number;
  replacement?: string;
  prepend_scheme?: "always" | "first" | "never";
  add_prefix_space?: boolean;
  prefix?: string;
  cleanup?: boolean;
  suffix?: string;
  [k: string]: unknown;
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export function createDecoder(json: DecoderJson | null | undefined, file: string): Decoder | undefined {
  if (json === null || json === undefined) return undefined;
  switch (json.type) {
    case "Sequence": {
      const parts = (json.decoders ?? []).map((d) => createDecoder(d, file)).filter((d) => d !== undefined);
      return { decodeChain: (tokens) => parts.reduce((acc, d) => d.decodeChain(acc), tokens) };
    }
    case "ByteLevel":
      return {
        decodeChain: (tokens) => {
          const chunks: Uint8Array[] = [];
          for (const t of tokens) chunks.push(unicodeToByte(t) ?? Buffer.from(t, "utf8"));
          return [utf8DecodeLossy(Buffer.concat(chunks))];
        },
      };
    case "Replace": {
      const re = patternOf(json.pattern, file);
      const content = json.content ?? "";
      return { decodeChain: (tokens) => tokens.map((t) => t.replace(re, () => content)) };
    }
    case "ByteFallback":
      return { decodeChain: byteFallback };
    case "Fuse":
      return { decodeChain: (tokens) => [tokens.join("")] };
    case "Strip": {
      const content = json.content ?? " ";
      const start = json.start ?? 0;
      const stop = json.stop ?? 0;
      return {
        decodeChain: (tokens) =>
          tokens.map((t) => {
            let s = 0;
            while (s < start && t.startsWith(content, s * content.length)) s++;
            let e = 0;
            const chars = [...t.slice(s * content.length)];
            while (e < stop && chars.length - e > 0 && chars[chars.length - 1 - e] === content) e++;
            return chars.slice(0, chars.length - e).join("");
          }),
      };
    }
    case "Metaspace": {
      const repl = json.replacement ?? "\u2581";
      const scheme = json.prepend_scheme ?? (json.add_prefix_space === false ? "never" : "always");
      return {
        decodeChain: (tokens) =>
          tokens.map((t, i) => {
            let s = t.replaceAll(repl, " ");
            if (i === 0 && scheme !== "never" && s.startsWith(" ")) s = s.slice(1);
            return s;
          }),
      };
    }
    case "WordPiece":
      return createWordPieceDecoder({ prefix: json.prefix ?? "##", cleanup: json.cleanup !== false });
    case "BPEDecoder": {
      const suffix = json.suffix ?? "</w>";
      return {
        decodeChain: (tokens) => tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " ")),
      };
    }
    default:
      throw new VocabFormatError(`unsupported decoder type "${json.type}"`, { file, field: "decoder" });
  }
}

/** Runs of `<0xXX>` tokens become the text of their bytes (one U+FFFD per byte when invalid, as HF). */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    const text = utf8DecodeStrict(Uint8Array.from(bytes));
    out.push(text ?? "\ufffd".repeat(bytes.length));
    bytes = [];
  };
  for (const t of tokens) {
    const m = BYTE_TOKEN.exec(t);
    if (m) bytes.push(parseInt(m[1]!, 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}
