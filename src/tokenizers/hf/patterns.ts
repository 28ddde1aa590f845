/** The `{"String": …}` / `{"Regex": …}` pattern objects of tokenizer.json, as global JS RegExps. */
import { VocabFormatError } from "../../errors.js";
import { compileSplitPattern } from "../regex.js";

export type HfPattern = { String: string } | { Regex: string } | string | undefined;

function escapeLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
}

/** A global, unicode RegExp for the pattern. */
export function patternOf(pattern: HfPattern, file: string, flags = "gu"): RegExp {
  if (typeof pattern === "string") return new RegExp(escapeLiteral(pattern), flags);
  if (pattern !== undefined && "String" in pattern) return new RegExp(escapeLiteral(pattern.String), flags);
  if (pattern !== undefined && "Regex" in pattern) return compileSplitPattern(pattern.Regex, file, flags);
  throw new VocabFormatError(`missing or invalid pattern ${JSON.stringify(pattern)}`, { file, field: "pattern" });
}
