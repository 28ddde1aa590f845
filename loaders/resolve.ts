/**
 * Source strings → a sorted, de-duplicated list of input files. Accepted forms:
 * - a file path, a directory (walked recursively, known extensions only), a glob (`data/train-*.parquet`,
 *   `**` crosses folders);
 * - an `http(s)://` URL;
 * - `zip:archive.zip!/dir/*.jsonl` (entries matching the glob), `archive.zip` (every known entry);
 * - a manifest: `list.manifest` (one source per line, `#` comments) or `list.manifest.json` (JSON array
 *   of strings); relative entries resolve against the manifest's folder.
 * The order is the same on every machine (code-unit sort within each source string, sources in the
 * order given), which sharding relies on.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { SourceError } from "../src/errors.js";
import { fileSource } from "./bytes.js";
import { codecFromName, stripCodecSuffix } from "./codec.js";
import type { Codec } from "./codec.js";
import { httpSource, isUrl } from "./http.js";
import type { HttpOptions } from "./http.js";
import type { ByteSource } from "./types.js";
import { openZip, zipEntryName } from "./zip.js";

/** Record formats: `json` is a JSON array, or JSONL when the file does not start with `[`. */
export type Format = "jsonl" | "json" | "parquet";

/** One input file, not yet opened. */
export interface InputFile {
  /** Display name used in documents and errors. */
  name: string;
  format: Format;
  codec: Codec;
  /** False for deflated zip entries: readable only from the start. */
  seekable: boolean;
  open(): Promise<ByteSource>;
}

/** Options for {@link resolveSources}. */
export interface ResolveOptions {
  /** Force a format instead of detecting it from the extension. */
  format?: Format;
  http?: HttpOptions;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Format from a file name (after the codec suffix), or undefined when unknown. */
export function formatFromName(name: string): Format | undefined {
  const n = stripCodecSuffix(name.toLowerCase().replace(/[?#].*$/, ""));
  if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) return "jsonl";
  if (n.endsWith(".json")) return "json";
  if (n.endsWith(".parquet") || n.endsWith(".pq")) return "parquet";
  return undefined;
}

/** Glob → anchored RegExp over `/`-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      if (glob[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i);
      if (close < 0) re += "\\[";
      else {
        re += glob.slice(i, close + 1).replace(/^\[!/, "[^");
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

const hasGlob = (s: string) => /[*?[]/.test(s);

function inputFile(name: string, opts: ResolveOptions, open: () => Promise<ByteSource>, seekable = true): InputFile | undefined {
  const format = opts.format ?? formatFromName(name);
  if (!format) return undefined;
  return { name, format, codec: codecFromName(name), seekable, open };
}

function mustKnow(name: string, f: InputFile | undefined): InputFile {
  if (!f) throw new SourceError("unknown format: name it .jsonl, .json, .parquet (optionally .gz/.zst) or pass a format option", { file: name });
  return f;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const items = await readdir(dir, { withFileTypes: true });
  for (const it of items) {
    const p = join(dir, it.name);
    if (it.isDirectory()) await walk(p, out);
    else if (it.isFile() || it.isSymbolicLink()) out.push(p);
  }
}

async function localFiles(pattern: string): Promise<string[]> {
  if (!hasGlob(pattern)) {
    const st = await stat(pattern).catch(() => undefined);
    if (!st) throw new SourceError("no such file or directory", { file: pattern });
    if (!st.isDirectory()) return [pattern];
    const all: string[] = [];
    await walk(pattern, all);
    return all.filter((p) => formatFromName(p) !== undefined).sort(byCodeUnit);
  }
  const parts = pattern.split(/[\\/]/);
  const firstGlob = parts.findIndex(hasGlob);
  const root = parts.slice(0, firstGlob).join(sep) || (isAbsolute(pattern) ? sep : ".");
  const re = globToRegExp(parts.slice(firstGlob).join("/"));
  const all: string[] = [];
  await walk(root, all).catch(() => undefined);
  const hits = all.filter((p) => re.test(relative(root, p).split(sep).join("/"))).sort(byCodeUnit);
  if (hits.length === 0) throw new SourceError("glob matched no files", { file: pattern });
  return hits;
}

async function zipFiles(archive: string, pattern: string | undefined, opts: ResolveOptions): Promise<InputFile[]> {
  const z = await openZip(archive);
  try {
    const re = pattern !== undefined ? globToRegExp(pattern) : undefined;
    const out: InputFile[] = [];
    for (const e of z.entries()) {
      if (re ? !re.test(e.name) : formatFromName(e.name) === undefined) continue;
      const name = zipEntryName(archive, e.name);
      const open = async (): Promise<ByteSource> => {
        const zz = await openZip(archive);
        const src = await zz.open(e.name).catch(async (err: unknown) => {
          await zz.close();
          throw err;
        });
        return { ...src, name, close: () => zz.close() };
      };
      out.push(mustKnow(name, inputFile(name, opts, open, e.stored)));
    }
    if (out.length === 0) throw new SourceError(`no entries match ${pattern ?? "a known format"} in the archive`, { file: archive });
    return out;
  } finally {
    await z.close();
  }
}

async function manifestSources(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8").catch((err: Error) => {
    throw new SourceError(`cannot read manifest: ${err.message}`, { file: path });
  });
  let list: unknown;
  if (path.endsWith(".json")) {
    try {
      list = JSON.parse(text);
    } catch (err) {
      throw new SourceError(`manifest is not JSON: ${(err as Error).message}`, { file: path });
    }
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) throw new SourceError("manifest must be a JSON array of strings", { file: path });
  } else {
    list = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  }
  const base = dirname(path);
  return (list as string[]).map((s) => (isUrl(s) || isAbsolute(s) ? s : s.startsWith("zip:") ? `zip:${join(base, s.slice(4))}` : join(base, s)));
}

/** Expands source strings into input files (see the module comment for the accepted forms). */
export async function resolveSources(specs: readonly string[], opts: ResolveOptions = {}): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const spec of specs) {
    if (isUrl(spec)) {
      out.push(mustKnow(spec, inputFile(spec, opts, () => httpSource(spec, opts.http))));
    } else if (spec.startsWith("zip:")) {
      const bang = spec.indexOf("!/");
      const archive = bang < 0 ? spec.slice(4) : spec.slice(4, bang);
      out.push(...(await zipFiles(archive, bang < 0 ? undefined : spec.slice(bang + 2), opts)));
    } else if (/\.manifest(\.json)?$/i.test(spec)) {
      out.push(...(await resolveSources(await manifestSources(spec), opts)));
    } else {
      for (const p of await localFiles(spec)) {
        if (/\.zip$/i.test(p)) out.push(...(await zipFiles(p, undefined, opts)));
        else out.push(mustKnow(p, inputFile(p, opts, () => fileSource(p))));
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((f) => (seen.has(f.name) ? false : (seen.add(f.name), true)));
}
