/** HF normalizers: `Sequence`, `Prepend`, `Replace`, `NFC`/`NFD`/`NFKC`/`NFKD`, `Lowercase`, `Strip`, `StripAccents`, `BertNormalizer`. */
import { VocabFormatError } from "../../errors.js";
import { createBertNormalizer, rustLowercase } from "./bert.js";
import type { Normalizer } from "./components.js";
import { patternOf, type HfPattern } from "./patterns.js";

interface NormalizerJson {
  type: string;
  normalizers?: NormalizerJson[];
  prepend?: string;
  pattern?: HfPattern;
  content?: string;
  left?: boolean;
  right?: boolean;
  [k: string]: unknown;
}

/** Drops combining marks (General_Category=Mark: Mn, Mc, Me), as HF `StripAccents` does on NFD text. */
export function stripAccents(text: string): string {
  return text.replace(/\p{M}/gu, "");
}

/** Builds the normalizer a tokenizer.json describes; `file` names the source in errors. */
export function createNormalizer(json: NormalizerJson | null | undefined, file: string): Normalizer | undefined {
  if (json === null || json === undefined) return undefined;
  switch (json.type) {
    case "Sequence": {
      const parts = (json.normalizers ?? []).map((n) => createNormalizer(n, file)).filter((n) => n !== undefined);
      return { normalize: (t: string): string => parts.reduce<string>((acc, n) => n.normalize(acc), t) };
    }
    case "Prepend": {
      const prefix = json.prepend ?? "";
      // HF prepends only to non-empty strings.
      return { normalize: (t) => (t.length > 0 ? prefix + t : t) };
    }
    case "Replace": {
      const re = patternOf(json.pattern, file);
      // `$` escaped so the content is inserted literally: a string replacement runs natively, a
      // callback per match cost ~13% of encoding Llama-2 (every space is replaced)
      const content = (json.content ?? "").replace(/\$/g, "$$$$");
      return { normalize: (t) => t.replace(re, content) };
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = json.type;
      return { normalize: (t) => t.normalize(form) };
    }
    case "Lowercase":
      return { normalize: rustLowercase };
    case "Strip": {
      const left = json.left !== false;
      const right = json.right !== false;
      return {
        normalize: (t) => {
          if (left) t = t.replace(/^\s+/u, "");
          if (right) t = t.replace(/\s+$/u, "");
          return t;
        },
      };
    }
    case "StripAccents":
      return { normalize: stripAccents };
    case "BertNormalizer":
      return createBertNormalizer(json as Parameters<typeof createBertNormalizer>[0]);
    default:
      throw new VocabFormatError(`unsupported normalizer type "${json.type}"`, { file, field: "normalizer" });
  }
}
