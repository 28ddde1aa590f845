/** Real corpora from ../shared and a generated edge-case set, shared by the exactness tests. */
import { readFileSync } from "node:fs";
import { sharedPath } from "../shared.js";

/** The `text` field of every line of shared/data/text/<name>.jsonl. */
export function corpus(name: "en" | "code" | "multi"): string[] {
  const lines = readFileSync(sharedPath("data", "text", `${name}.jsonl`), "utf8").split("\n");
  return lines.filter((l) => l.trim() !== "").map((l) => (JSON.parse(l) as { text: string }).text);
}

/** Inputs chosen to break tokenizers: invalid UTF-16, control chars, scripts with special casing. */
export function edgeCases(longLineChars = 1_000_000): string[] {
  const en = corpus("en");
  const oneMegabyteLine = en.join(" ").replace(/\s+/g, " ").slice(0, longLineChars);
  return [
    "",
    "a\uD800b",
    "\uDC00",
    "x\uD83D",
    "\uD83D\uD83D\uDE00",
    "nul\u0000byte\u0000",
    "replacement \uFFFD char",
    "e\u0301 n\u0303 Z\u0324\u0354\u0367\u0311\u0353a\u0308\u0356\u032D",
    "family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466} flag \u{1F3F3}\uFE0F\u200D\u{1F308} skin \u{1F44D}\u{1F3FD}",
    "\u200F\u05E9\u05DC\u05D5\u05DD\u200E abc \u202Eevil\u202C \u0645\u0631\u062D\u0628\u0627",
    "\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3 \u1F40\u03B4\u03C5\u03C3\u03C3\u03B5\u03CD\u03C2 \u03A3\u03A3 \u03C3\u03C2",
    "\u0130stanbul \u0131\u0130iI \u0130\u0307 DIYARBAKIR \u0132",
    "a    b\t\t\n\n\n  c",
    "   ",
    "\n\n\n",
    "\r\n\r\n x \r",
    " \u00A0 \u0085 \u2028 \u2029 \uFEFF \u3000 \u1680 x \u00A0y",
    "I'LL DON'T it's \u017F'S 'S 's 'Re 've \u212A",
    "12345678 \u0661\u0662\u0663 \u0664\u0665 \u00BD \u2160 1.5e10",
    "<|endoftext|> hello <|fim_prefix|><|endofprompt|> <s> </s> [CLS] [SEP] <|begin_of_text|>",
    "tab\tseparated\tvalues\u000B\u000C",
    "\u{10FFFF}\u{E0001}\u{1F600}\u{20000}\u{2A6D6}",
    "\u3053\u3093\u306B\u3061\u306F\u4E16\u754C \uD55C\uAD6D\uC5B4 \u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35",
    "caf\u00E9 CAF\u00C9 na\u00EFve \uFB01 \u1E9E \u00DF",
    "a".repeat(5000),
    " ".repeat(3000) + "x",
    "!".repeat(2000),
    "\u{1F600}".repeat(1000),
    "9".repeat(1000),
    oneMegabyteLine,
  ];
}

/** Index of the first difference between two id sequences, or -1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Compares many documents and returns readable descriptions of the first few mismatches. */
export function mismatches(
  docs: readonly string[],
  ours: (text: string) => ArrayLike<number>,
  reference: (text: string, i: number) => ArrayLike<number>,
  limit = 3,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < docs.length && out.length < limit; i++) {
    const a = ours(docs[i]!);
    const b = reference(docs[i]!, i);
    const at = firstDifference(a, b);
    if (at < 0) continue;
    const slice = (x: ArrayLike<number>) => Array.from(x).slice(Math.max(0, at - 3), at + 5).join(",");
    out.push(`doc ${i} (${JSON.stringify(docs[i]!.slice(0, 60))}…, ${a.length} vs ${b.length} ids) differs at ${at}: ours [${slice(a)}] reference [${slice(b)}]`);
  }
  return out;
}
