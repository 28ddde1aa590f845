/**
 * HF added tokens: matched before the model sees the text, leftmost-longest, in two passes as
 * `tokenizers` does — tokens with `normalized: false` on the raw text, then tokens with
 * `normalized: true` on each normalized segment. `lstrip`/`rstrip` absorb neighbouring
 * whitespace; `single_word` only matches between word boundaries.
 */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** A piece of input: plain text to tokenize, or an added token's id. */
export type Segment = string | number;

const WORD = /[\p{L}\p{N}\p{M}\p{Pc}]/u;
const SPACE = /\s/u;

export class AddedTokenMatcher {
  private readonly re: RegExp | undefined;
  private readonly byContent: Map<string, AddedTokenJson>;
  /**
   * The distinct first characters of the tokens, when there are few (Llama-3's 256 specials all
   * start with "<"): a text containing none of them has no match, found with `indexOf` instead of
   * running a 256-way alternation over the whole document.
   */
  private readonly firstChars: string[] | undefined;

  constructor(tokens: readonly AddedTokenJson[]) {
    this.byContent = new Map(tokens.map((t) => [t.content, t]));
    const sorted = tokens.map((t) => t.content).filter((c) => c.length > 0).sort((a, b) => b.length - a.length);
    this.re = sorted.length === 0 ? undefined : new RegExp(sorted.map(escape).join("|"), "gu");
    const firsts = [...new Set(sorted.map((c) => String.fromCodePoint(c.codePointAt(0)!)))];
    this.firstChars = firsts.length <= 4 ? firsts : undefined;
  }

  get empty(): boolean {
    return this.re === undefined;
  }

  /** Splits `text` into plain-text segments and added-token ids, pushing them to `out`. */
  split(text: string, out: Segment[]): void {
    const re = this.re;
    if (re === undefined || (this.firstChars !== undefined && this.firstChars.every((c) => !text.includes(c)))) {
      if (text.length > 0) out.push(text);
      return;
    }
    re.lastIndex = 0;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const tok = this.byContent.get(m[0])!;
      let s = m.index;
      let e = s + m[0].length;
      if (tok.single_word === true) {
        const before = s > 0 ? text[s - 1]! : "";
        const after = e < text.length ? text[e]! : "";
        if ((before && WORD.test(before)) || (after && WORD.test(after))) {
          re.lastIndex = m.index + 1;
          continue;
        }
      }
      if (tok.lstrip === true) while (s > last && SPACE.test(text[s - 1]!)) s--;
      if (tok.rstrip === true) while (e < text.length && SPACE.test(text[e]!)) e++;
      if (s > last) out.push(text.slice(last, s));
      out.push(tok.id);
      last = e;
      re.lastIndex = e;
    }
    if (last < text.length) out.push(text.slice(last));
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
}
