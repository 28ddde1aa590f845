/** Texts up to this long are copied unit by unit: a native call costs more than that. */
const SHORT = 32;

/**
 * A text's UTF-16 units in a typed array, written by one native call: the tokenizers' hot loops
 * (split scanning, piece hashing, key comparison) read `units[i]`, a plain load, where
 * `text.charCodeAt(i)` cost ~2.4 ns a character here (V8 checks the string's representation on
 * every call). The view is reused: it is valid until `of` is called with another text.
 */
export class TextUnits {
  private units = new Uint16Array(4096);
  private bytes = Buffer.from(this.units.buffer);
  private text: string | undefined;
  private view: Uint16Array = this.units.subarray(0, 0);

  /** `text`'s UTF-16 units (lone surrogates as they are). */
  of(text: string): Uint16Array {
    if (text === this.text) return this.view;
    const n = text.length;
    if (n > this.units.length) {
      this.units = new Uint16Array(Math.max(n, this.units.length * 2));
      this.bytes = Buffer.from(this.units.buffer);
    }
    if (n <= SHORT) {
      const units = this.units;
      for (let i = 0; i < n; i++) units[i] = text.charCodeAt(i);
    } else this.bytes.write(text, 0, "utf16le");
    this.text = text;
    this.view = this.units.subarray(0, n);
    return this.view;
  }
}
