/**
 * GPT-2's reversible byte ↔ unicode map (HF `ByteLevel`): printable bytes stand for themselves,
 * the other 68 bytes map to U+0100 onwards. tokpack undoes it at load time so encoders work on
 * raw UTF-8 bytes.
 */
const BYTE_TO_CHAR: string[] = [];
const CHAR_TO_BYTE = new Map<number, number>();
{
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const cp = printable ? b : 256 + extra++;
    BYTE_TO_CHAR[b] = String.fromCodePoint(cp);
    CHAR_TO_BYTE.set(cp, b);
  }
}

/** The bytes a byte-level token string stands for; undefined if it has a char outside the map. */
export function unicodeToByte(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  let n = 0;
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch.codePointAt(0)!);
    if (b === undefined) return undefined;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** The byte-level string of some bytes (for idToToken of raw bytes). */
export function byteToUnicode(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b]!;
  return s;
}
