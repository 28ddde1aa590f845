/**
 * An on-disk cache of built tokenizer tables. Building them is most of a tokenizer's load (parsing
 * rank files or a tokenizer.json, hashing every token, enumerating merge pairs: ~0.5 s for
 * cl100k_base, ~2 s for Llama-3's tokenizer.json here), and every CLI run and every pipeline start
 * pays it. The tables a family can share with worker threads (`Tokenizer.shareTables`) are plain
 * typed arrays, so they are written once and read back straight into one SharedArrayBuffer, the
 * arrays views into it: ready to share with threads, with no parsing and no copy.
 *
 * Entry layout: 16-byte magic, u32 header length, the header (UTF-8 JSON: the key, the data size, the tables
 * with each typed array replaced by `{"$ta": type, "o": offset, "n": length}` into the data and each
 * Map by `{"$map": entries}`), zero padding to 8 bytes, then the data: every array, 8-byte aligned.
 *
 * An entry is keyed by a SHA-256 of everything the tables are built from: the source files' bytes
 * (a tokenizer.json and the tokenizer_config.json beside it, a rank file and its encoding's JSON)
 * and the code that lays the tables out (this module's sibling sources), so an edited file or a
 * new tokpack build never reads a stale entry. An entry that cannot be read is rebuilt and
 * rewritten; one that cannot be written is skipped: the cache never makes a load fail.
 *
 * Where: `$TOKPACK_CACHE_DIR`, else `$XDG_CACHE_HOME/tokpack/tables`, else
 * `~/.cache/tokpack/tables`. `TOKPACK_NO_CACHE=1` turns it off. Writing an entry deletes those of
 * other tokpack builds; `tokpack cache --clear` deletes all.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { extname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SharedTokenizer } from "./types.js";

/** The first 16 bytes of every entry (format version in the last). */
const MAGIC = Buffer.from("tokpack-tables\x00\x01", "latin1");

/** Sources whose code decides the tables' layout or content, relative to this module. */
const LAYOUT_SOURCES = [
  "./bpe/byte-vocab",
  "./bpe/pair-table",
  "./bpe/utf16-table",
  "./bpe/shared-array",
  "./tiktoken/tokenizer",
  "./tiktoken/ranks",
  "./hf/tokenizer",
  "./hf/bpe-model",
  "./hf/byte-level",
  "./hf/components",
  "./hf/gpt2-files",
  "./hf/wordpiece",
  "./builtin-bert",
  "./load",
  "./table-cache",
];

const ARRAY_TYPES = { Uint8Array, Uint16Array, Int32Array, Uint32Array } as const;
type ArrayType = keyof typeof ARRAY_TYPES;
type TableArray = InstanceType<(typeof ARRAY_TYPES)[ArrayType]>;

function arrayType(v: unknown): ArrayType | undefined {
  for (const name of Object.keys(ARRAY_TYPES) as ArrayType[]) if (v instanceof ARRAY_TYPES[name]) return name;
  return undefined;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** The header (`{"key", "dataBytes", "tables"}` as JSON) and the arrays it points at (offsets into the data). */
function encodeEntry(key: string, tables: SharedTokenizer): { header: Buffer; arrays: { at: number; a: TableArray }[]; dataBytes: number } {
  const arrays: { at: number; a: TableArray }[] = [];
  let dataBytes = 0;
  const tablesJson = JSON.stringify(tables, (_k: string, v: unknown) => {
    const t = arrayType(v);
    if (t !== undefined) {
      const a = v as TableArray;
      const at = dataBytes;
      arrays.push({ at, a });
      dataBytes = align8(at + a.byteLength);
      return { $ta: t, o: at, n: a.length };
    }
    if (v instanceof Map) return { $map: [...(v as Map<unknown, unknown>)] };
    return v;
  });
  // the data size is known once the tables are laid out; a reader needs it before reading them
  const header = `{"key":${JSON.stringify(key)},"dataBytes":${dataBytes},"tables":${tablesJson}}`;
  return { header: Buffer.from(header, "utf8"), arrays, dataBytes };
}

/** The cache directory, or undefined when caching is off. */
export function tableCacheDir(): string | undefined {
  const env = process.env;
  if (env["TOKPACK_NO_CACHE"] !== undefined && env["TOKPACK_NO_CACHE"] !== "" && env["TOKPACK_NO_CACHE"] !== "0") return undefined;
  if (env["TOKPACK_CACHE_DIR"]) return env["TOKPACK_CACHE_DIR"];
  let base = env["XDG_CACHE_HOME"];
  if (!base || !isAbsolute(base)) {
    let home = "";
    try {
      home = homedir();
    } catch {
      // no home directory (a bare container)
    }
    if (!isAbsolute(home)) return undefined; // never a cache relative to the working directory
    base = join(home, ".cache");
  }
  return join(base, "tokpack", "tables");
}

let layout: string | undefined;

/** A hash of the layout code (read once per process; the compiled `.js` files, or `.ts` under a TS runner). */
function layoutFingerprint(): string {
  if (layout === undefined) {
    const h = createHash("sha256");
    const ext = extname(fileURLToPath(import.meta.url));
    for (const s of LAYOUT_SOURCES) {
      const p = fileURLToPath(new URL(s + ext, import.meta.url));
      h.update(s).update(existsSync(p) ? readFileSync(p) : "missing");
    }
    layout = h.digest("hex");
  }
  return layout;
}

/** The key of tables built from `files` (missing optional files count as absent). */
export function tableKey(kind: string, files: readonly string[]): string {
  const h = createHash("sha256").update(MAGIC).update(layoutFingerprint()).update(kind);
  for (const f of files) {
    // each file's length first, so two files' bytes cannot run together ambiguously
    const bytes = existsSync(f) ? readFileSync(f) : undefined;
    h.update(bytes === undefined ? "absent;" : `${bytes.length};`);
    if (bytes !== undefined) h.update(bytes);
  }
  return h.digest("hex");
}

/** Names of entries and of their temporary files: `<build>-<key>.bin`. */
const ENTRY_FILE = /^([0-9a-f]{12})-[0-9a-f]{64}\.bin(\.\d+\.[0-9a-z]+\.tmp)?$/;

/** An entry's file name: prefixed by this build's layout hash, so other builds' entries can be told apart. */
function entryName(key: string): string {
  return `${layoutFingerprint().slice(0, 12)}-${key}.bin`;
}

/**
 * Delete the entries other tokpack builds wrote (they can never match this build's keys), so
 * upgrades do not pile up stale entries; their temporary files too, once an hour old.
 */
function removeOtherBuilds(dir: string): void {
  const mine = layoutFingerprint().slice(0, 12);
  for (const f of readdirSync(dir)) {
    const m = ENTRY_FILE.exec(f);
    if (m === null) continue;
    const path = join(dir, f);
    try {
      const stale = m[2] !== undefined ? Date.now() - statSync(path).mtimeMs > 3600_000 : m[1] !== mine;
      if (stale) rmSync(path, { force: true });
    } catch {
      // gone meanwhile (another process renamed or removed it)
    }
  }
}

/** The cached tables for `key` (arrays on one SharedArrayBuffer), or undefined: none, unreadable, another format, caching off. */
export function readTables(key: string): SharedTokenizer | undefined {
  const dir = tableCacheDir();
  if (dir === undefined) return undefined;
  const path = join(dir, entryName(key));
  if (!existsSync(path)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const headerBytes = head.readUInt32LE(MAGIC.length);
    const header = Buffer.alloc(headerBytes);
    if (readSync(fd, header, 0, headerBytes, head.length) !== headerBytes) return undefined;
    const parsed = JSON.parse(header.toString("utf8")) as { key?: unknown; tables?: unknown; dataBytes?: unknown };
    if (parsed.key !== key || typeof parsed.dataBytes !== "number") return undefined;
    const data = new SharedArrayBuffer(parsed.dataBytes);
    const view = new Uint8Array(data);
    const dataStart = align8(head.length + headerBytes);
    for (let done = 0; done < view.length; ) {
      const n = readSync(fd, view, done, view.length - done, dataStart + done);
      if (n === 0) return undefined; // truncated
      done += n;
    }
    return revive(parsed.tables, data) as SharedTokenizer;
  } catch {
    return undefined; // corrupt: rebuilt and rewritten by the caller
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The header's tables with their arrays as views into `data` (range-checked) and Maps rebuilt. */
function revive(v: unknown, data: SharedArrayBuffer): unknown {
  if (Array.isArray(v)) return v.map((x) => revive(x, data));
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (typeof o["$ta"] === "string") {
    const ctor = Object.hasOwn(ARRAY_TYPES, o["$ta"]) ? ARRAY_TYPES[o["$ta"] as ArrayType] : undefined;
    const at = o["o"];
    const n = o["n"];
    if (ctor === undefined || typeof at !== "number" || typeof n !== "number" || at % 8 !== 0 || at + n * ctor.BYTES_PER_ELEMENT > data.byteLength) throw new Error("bad array");
    return new (ctor as new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => TableArray)(data, at, n);
  }
  if (Array.isArray(o["$map"])) return new Map((o["$map"] as [unknown, unknown][]).map(([k, x]) => [k, revive(x, data)]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = revive(x, data);
  return out;
}

/** Store `tables` under `key`: best effort, atomic (a reader sees a whole entry or none). */
export function writeTables(key: string, tables: SharedTokenizer): void {
  const dir = tableCacheDir();
  if (dir === undefined) return;
  const path = join(dir, entryName(key));
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const { header, arrays, dataBytes } = encodeEntry(key, tables);
    const dataStart = align8(MAGIC.length + 4 + header.length);
    const out = Buffer.alloc(dataStart + dataBytes);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(header.length, MAGIC.length);
    header.copy(out, MAGIC.length + 4);
    for (const { at, a } of arrays) out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dataStart + at);
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, out);
    renameSync(tmp, path);
    removeOtherBuilds(dir);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written there either
    }
  }
}

/** The cache's entries (their files and total bytes); none when caching is off or nothing is cached. */
export function tableCacheEntries(): { dir: string | undefined; files: string[]; bytes: number } {
  const dir = tableCacheDir();
  if (dir === undefined || !existsSync(dir)) return { dir, files: [], bytes: 0 };
  const files = readdirSync(dir)
    .filter((f) => ENTRY_FILE.test(f))
    .map((f) => join(dir, f));
  let bytes = 0;
  for (const f of files) bytes += statSync(f).size;
  return { dir, files, bytes };
}

/** Delete every entry (and leftover temporary file); returns how many files went. */
export function clearTableCache(): number {
  const { files } = tableCacheEntries();
  for (const f of files) rmSync(f, { force: true });
  return files.length;
}
