/**
 * HF post-processors, reduced to what single-sequence id encoding needs: the special-token ids
 * written before and after the sequence (`TemplateProcessing`, `BertProcessing`,
 * `RobertaProcessing`, `ByteLevel` (adds nothing), `Sequence`).
 */
import { VocabFormatError } from "../../errors.js";

export interface Affixes {
  prefix: Uint32Array;
  suffix: Uint32Array;
}

type TemplatePiece = { SpecialToken: { id: string } } | { Sequence: { id: string } };

interface PostProcessorJson {
  type: string;
  single?: TemplatePiece[] | string;
  special_tokens?: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  sep?: [string, number];
  cls?: [string, number];
  processors?: PostProcessorJson[];
  [k: string]: unknown;
}

const NONE: Affixes = { prefix: new Uint32Array(0), suffix: new Uint32Array(0) };

function parseTemplateString(single: string): TemplatePiece[] {
  // "[CLS]:0 $A:0 [SEP]:0" form.
  return single.split(/\s+/).filter(Boolean).map((part) => {
    const name = part.replace(/:\d+$/, "");
    return name.startsWith("$") ? { Sequence: { id: name.slice(1) || "A" } } : { SpecialToken: { id: name } };
  });
}

export function createPostProcessor(json: PostProcessorJson | null | undefined, file: string): Affixes {
  if (json === null || json === undefined) return NONE;
  switch (json.type) {
    case "ByteLevel":
      return NONE;
    case "BertProcessing":
    case "RobertaProcessing": {
      if (!json.cls || !json.sep) throw new VocabFormatError(`${json.type} needs cls and sep`, { file, field: "post_processor" });
      return { prefix: Uint32Array.of(json.cls[1]), suffix: Uint32Array.of(json.sep[1]) };
    }
    case "TemplateProcessing": {
      const single = typeof json.single === "string" ? parseTemplateString(json.single) : json.single ?? [];
      const prefix: number[] = [];
      const suffix: number[] = [];
      let seen = false;
      for (const piece of single) {
        if ("Sequence" in piece) {
          seen = true;
          continue;
        }
        const special = json.special_tokens?.[piece.SpecialToken.id];
        if (!special) {
          throw new VocabFormatError(`template names special token "${piece.SpecialToken.id}" missing from special_tokens`, {
            file,
            field: "post_processor",
          });
        }
        (seen ? suffix : prefix).push(...special.ids);
      }
      return { prefix: Uint32Array.from(prefix), suffix: Uint32Array.from(suffix) };
    }
    case "Sequence": {
      let acc = NONE;
      for (const p of json.processors ?? []) {
        const next = createPostProcessor(p, file);
        acc = {
          prefix: Uint32Array.from([...next.prefix, ...acc.prefix]),
          suffix: Uint32Array.from([...acc.suffix, ...next.suffix]),
        };
      }
      return acc;
    }
    default:
      throw new VocabFormatError(`unsupported post-processor type "${json.type}"`, { file, field: "post_processor" });
  }
}
