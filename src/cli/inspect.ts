/**
 * `tokpack inspect`: shows how one text splits into tokens — each token's text (alternating colors
 * on a TTY, `[brackets]` otherwise), the ids, the count, and whether decode(encode(text)) gives the
 * text back.
 */
import type { Writable } from "node:stream";
import { UsageError } from "../errors.js";
import { loadTokenizer } from "../tokenizers/load.js";
import type { EncodeOptions, Tokenizer } from "../tokenizers/types.js";
import { boolFlag, parseFlags, stringFlag } from "./args.js";

/** Help text of `tokpack inspect`. */
export const INSPECT_USAGE = `Usage: tokpack inspect --tokenizer SPEC [--no-special] [--table] [--color|--no-color] TEXT|-

Shows the token boundaries of TEXT ("-" reads it from stdin), the ids, the token count, and the
round-trip check decode(encode(TEXT)) === TEXT.

  --tokenizer, -t SPEC  built-in name, .tiktoken rank file or tokenizer.json
  --no-special          do not add the post-processor's special tokens
  --table               also list every token as: index, id, text
  --color / --no-color  force colored boundaries on or off (default: on when stdout is a TTY
                        and NO_COLOR is not set)`;

/** Two background colors with black text, alternated between neighbouring tokens. */
const COLORS = ["\x1b[30;46m", "\x1b[30;43m"] as const;
const RESET = "\x1b[0m";

/**
 * Printable text of one token: its UTF-8 bytes decoded, control characters escaped (`\n`, `\t`,
 * `\xNN`); bytes that do not form a whole UTF-8 character inside the token (a byte-level piece of a
 * character) show as `\xNN`.
 */
export function tokenLabel(tok: Tokenizer, id: number): string {
  const bytes = tok.tokenBytes(id);
  if (bytes === undefined) return tok.idToToken(id) ?? `<unknown id ${id}>`;
  let s = "";
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      s += `\\x${bytes[i]!.toString(16).padStart(2, "0")}`;
      i++;
    } else {
      s += escapeControls(Buffer.from(bytes.buffer, bytes.byteOffset + i, n).toString("utf8"));
      i += n;
    }
  }
  return s;
}

/** Length of the well-formed UTF-8 sequence starting at `i`, or 0 when there is none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1]!;
  // Overlong 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF are not characters.
  if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
  return n;
}

function escapeControls(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Result of the round-trip check. */
export interface RoundTrip {
  ok: boolean;
  decoded: string;
}

/**
 * decode(encode(text)) === text, encoding without the post-processor's specials (they were never
 * part of the text) and decoding without skipping specials (special-token strings in the text are).
 */
export function roundTrip(tok: Tokenizer, text: string): RoundTrip {
  const decoded = tok.decode(tok.encode(text, { addSpecialTokens: false }));
  return { ok: decoded === text, decoded };
}

/** Whether to color: an explicit flag wins, then NO_COLOR / FORCE_COLOR, then "is a TTY". */
function useColor(out: Writable, flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  if (process.env["NO_COLOR"] !== undefined && process.env["NO_COLOR"] !== "") return false;
  const force = process.env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  return (out as Writable & { isTTY?: boolean }).isTTY === true;
}

/** The report `inspect` prints, one string per line. */
export function inspectLines(tok: Tokenizer, text: string, opts: { color: boolean; table: boolean; options?: EncodeOptions }): string[] {
  const ids = tok.encode(text, opts.options);
  const labels = Array.from(ids, (id) => tokenLabel(tok, id));
  const boundaries = opts.color
    ? labels.map((l, i) => `${COLORS[i % 2]}${l}${RESET}`).join("")
    : labels.map((l) => `[${l}]`).join("");
  const bytes = Buffer.byteLength(text, "utf8");
  const rt = roundTrip(tok, text);
  const lines = [
    `tokenizer: ${tok.name} (vocab ${tok.vocabSize}${tok.lossless ? ", lossless" : ""})`,
    `tokens: ${boundaries}`,
    `ids: [${ids.join(", ")}]`,
    `count: ${ids.length} token${ids.length === 1 ? "" : "s"} for ${text.length} UTF-16 units / ${bytes} UTF-8 bytes`,
  ];
  if (opts.table) {
    lines.push("index\tid\ttoken");
    ids.forEach((id, i) => lines.push(`${i}\t${id}\t${labels[i] ?? ""}`));
  }
  if (rt.ok) lines.push("round-trip: ok");
  else {
    const why = tok.lossless ? "unexpected: this tokenizer is documented lossless" : "lossy tokenizer";
    lines.push(`round-trip: differs (${why})`, `decoded: ${JSON.stringify(rt.decoded)}`);
  }
  return lines;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString("utf8");
}

/** `tokpack inspect ARGS`: returns the exit status. */
export async function runInspect(argv: string[], out: Writable = process.stdout): Promise<number> {
  const args = parseFlags(
    "inspect",
    argv,
    {
      tokenizer: { type: "string", short: "t" },
      "no-special": { type: "boolean" },
      table: { type: "boolean" },
      color: { type: "boolean" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    1,
  );
  if (boolFlag(args, "help")) {
    out.write(INSPECT_USAGE + "\n");
    return 0;
  }
  const spec = stringFlag("inspect", args, "tokenizer", true);
  const arg = args.positionals[0];
  if (arg === undefined) throw new UsageError('inspect: give the text to inspect (or "-" to read it from stdin)');
  const colorFlag = boolFlag(args, "color") ? true : boolFlag(args, "no-color") ? false : undefined;
  const tok = await loadTokenizer(spec);
  const text = arg === "-" ? await readAll(process.stdin) : arg;
  const lines = inspectLines(tok, text, {
    color: useColor(out, colorFlag),
    table: boolFlag(args, "table"),
    ...(boolFlag(args, "no-special") ? { options: { addSpecialTokens: false } } : {}),
  });
  out.write(lines.join("\n") + "\n");
  return 0;
}
