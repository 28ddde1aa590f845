/**
 * NumPy `.npy` v1.0 files of fixed width, written while their row count is still unknown: the header
 * is reserved at a fixed 128 bytes and rewritten with the final shape when the file is complete, so
 * `numpy.load(path, mmap_mode="r")` maps the data in place.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { DatasetFormatError } from "../errors.js";

/** Total header size (magic + version + length + dict, space-padded, `\n`-terminated); a multiple of 64. */
export const NPY_HEADER_BYTES = 128;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** NumPy dtype strings tokpack writes. */
export type NpyDescr = "<i4" | "<i8";

/** The 128-byte header of a C-order array of `descr` with `shape`. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const room = NPY_HEADER_BYTES - 10 - 1;
  if (dict.length > room) throw new DatasetFormatError(`npy header for shape (${dims}) does not fit ${NPY_HEADER_BYTES} bytes`);
  dict = dict.padEnd(room, " ") + "\n";
  const out = new Uint8Array(NPY_HEADER_BYTES);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, NPY_HEADER_BYTES - 10, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** Overwrite the header of an existing `.npy` file with the final shape. */
export function rewriteNpyHeader(path: string, descr: NpyDescr, shape: readonly number[]): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, npyHeader(descr, shape), 0, NPY_HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
}

/** Parsed `.npy` header: dtype, shape and where the data starts. */
export interface NpyInfo {
  descr: string;
  shape: number[];
  dataOffset: number;
}

/** Read the header of a `.npy` file (v1 / v2, C order). */
export function readNpyHeader(path: string): NpyInfo {
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(12);
    if (readSync(fd, head, 0, 12, 0) < 10 || MAGIC.some((b, i) => head[i] !== b)) throw new DatasetFormatError("not a .npy file (bad magic)", { file: path });
    const major = head[6]!;
    const dv = new DataView(head.buffer);
    const len = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
    const start = major === 1 ? 10 : 12;
    const text = new Uint8Array(len);
    readSync(fd, text, 0, len, start);
    const dict = new TextDecoder().decode(text);
    const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
    const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
    if (descr === undefined || shapeText === undefined || /'fortran_order':\s*True/.test(dict)) {
      throw new DatasetFormatError(`unsupported .npy header ${JSON.stringify(dict.trim())}`, { file: path });
    }
    const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
    return { descr, shape, dataOffset: start + len };
  } finally {
    closeSync(fd);
  }
}
