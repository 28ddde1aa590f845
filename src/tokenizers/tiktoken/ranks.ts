/**
 * Readers for tiktoken vocabularies: `.tiktoken` rank files (`<base64 token> <rank>` per line) and
 * the compressed JSON the `tiktoken` npm package ships (`bpe_ranks`: lines of
 * `<ignored> <first rank> <base64> <base64> …` with consecutive ranks). Both return `tokens[rank]`.
 */
import { VocabFormatError } from "../../errors.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a `.tiktoken` file's text; errors name `file` and the line. */
export function parseTiktokenFile(text: string, file: string): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === "") continue;
    const space = line.indexOf(" ");
    const b64 = space < 0 ? "" : line.slice(0, space);
    const rankText = space < 0 ? "" : line.slice(space + 1);
    if (space < 0 || !BASE64.test(b64) || !/^\d+$/.test(rankText)) {
      throw new VocabFormatError(`expected "<base64 token> <rank>", got ${JSON.stringify(line.slice(0, 80))}`, {
        file,
        line: lineNo,
      });
    }
    const rank = Number(rankText);
    if (tokens[rank] !== undefined) {
      throw new VocabFormatError(`rank ${rank} appears twice`, { file, line: lineNo });
    }
    tokens[rank] = Buffer.from(b64, "base64");
  }
  if (tokens.length === 0) throw new VocabFormatError("the rank file has no tokens", { file });
  return tokens;
}

/** Parses the `bpe_ranks` string of the `tiktoken` package's `encoders/*.json`. */
export function parseCompressedRanks(bpeRanks: string, file: string): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  const lines = bpeRanks.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const parts = line.split(" ");
    const first = Number(parts[1]);
    if (!Number.isInteger(first)) {
      throw new VocabFormatError(`bpe_ranks line has no starting rank: ${JSON.stringify(line.slice(0, 80))}`, {
        file,
        line: i + 1,
      });
    }
    for (let k = 2; k < parts.length; k++) tokens[first + k - 2] = Buffer.from(parts[k]!, "base64");
  }
  return tokens;
}
