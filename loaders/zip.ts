/**
 * Zip archives via node-stream-zip: each matching entry becomes its own byte source, never
 * extracted to disk. A stored entry is a plain sub-range of the archive (random access, splittable);
 * a deflated entry streams through node-stream-zip's inflater, and is inflated into memory only when
 * a reader needs random access (a parquet entry).
 */
import type StreamZip from "node-stream-zip";
import { SourceError, TokpackError } from "../src/errors.js";
import { bufferSource, fileSource, subSource } from "./bytes.js";
import type { ByteSource } from "./types.js";

/** One file entry of an archive. */
export interface ZipEntryInfo {
  /** Entry path inside the archive. */
  name: string;
  /** Uncompressed size. */
  size: number;
  /** True for stored (method 0) entries: random access without inflating. */
  stored: boolean;
}

/** An open archive; `close()` releases its descriptor. */
export interface ZipArchive {
  readonly path: string;
  entries(): ZipEntryInfo[];
  /** A byte source for one entry; throws {@link SourceError} when it is not in the archive. */
  open(entryName: string): Promise<ByteSource>;
  close(): Promise<void>;
}

/** Display name of an entry: `zip:archive.zip!/entry`. */
export function zipEntryName(archive: string, entry: string): string {
  return `zip:${archive}!/${entry}`;
}

/** Opens `path` as a zip archive. A truncated or damaged archive → {@link SourceError} naming it. */
export async function openZip(path: string): Promise<ZipArchive> {
  const { default: Zip } = await import("node-stream-zip"); // on first use: most runs read no archive
  const base = await fileSource(path);
  const zip = new Zip.async({ file: path, storeEntries: true });
  let all: Record<string, StreamZip.ZipEntry>;
  try {
    all = await zip.entries();
  } catch (err) {
    await zip.close().catch(() => undefined);
    await base.close?.();
    throw new SourceError(`not a readable zip archive (${(err as Error).message}); it may be truncated`, { file: path, offset: base.byteLength }, { cause: err });
  }
  const list = Object.values(all)
    .filter((e) => e.isFile)
    .map((e) => ({ name: e.name, size: e.size, stored: e.method === 0 }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    path,
    entries: () => list,
    async open(entryName: string): Promise<ByteSource> {
      const entry = all[entryName];
      if (!entry || !entry.isFile) throw new SourceError(`no entry "${entryName}" in the archive`, { file: path });
      const name = zipEntryName(path, entryName);
      if (entry.method === 0) {
        if (entry.compressedSize !== entry.size) throw new SourceError("stored entry has inconsistent sizes", { file: name });
        const loc = new Uint8Array(await base.slice(entry.offset, entry.offset + 30));
        const view = new DataView(loc.buffer);
        if (loc.byteLength < 30 || view.getUint32(0, true) !== 0x04034b50) {
          throw new SourceError("bad local header for entry", { file: name, offset: entry.offset });
        }
        const dataStart = entry.offset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
        if (dataStart + entry.size > base.byteLength) {
          throw new SourceError("entry data runs past the end of the archive: truncated", { file: name, offset: base.byteLength });
        }
        return subSource(name, base, dataStart, entry.size);
      }
      return deflatedSource(zip, entry, name);
    },
    async close(): Promise<void> {
      await zip.close().catch(() => undefined);
      await base.close?.();
    },
  };
}

function deflatedSource(zip: InstanceType<typeof StreamZip.async>, entry: StreamZip.ZipEntry, name: string): ByteSource {
  let inflated: Promise<ByteSource> | undefined;
  const whole = () =>
    (inflated ??= (async () => {
      const chunks: Uint8Array[] = [];
      for await (const c of streamEntry(zip, entry, name, 0)) chunks.push(c);
      return bufferSource(name, Buffer.concat(chunks));
    })());
  return {
    name,
    byteLength: entry.size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      return (await whole()).slice(start, end);
    },
    stream: (start = 0) => streamEntry(zip, entry, name, start),
  };
}

/** Inflates the entry from its start, dropping the first `skip` bytes (deflate cannot seek). */
async function* streamEntry(zip: InstanceType<typeof StreamZip.async>, entry: StreamZip.ZipEntry, name: string, skip: number): AsyncIterable<Uint8Array> {
  let out = 0;
  try {
    const rs = await zip.stream(entry);
    for await (const raw of rs as AsyncIterable<Buffer>) {
      const c = raw;
      const s = out;
      out += c.length;
      if (out <= skip) continue;
      yield s >= skip ? c : c.subarray(skip - s);
    }
  } catch (err) {
    if (err instanceof TokpackError) throw err;
    throw new SourceError(`zip entry is truncated or corrupt (${(err as Error).message})`, { file: name, offset: out }, { cause: err });
  }
  if (out !== entry.size) throw new SourceError(`zip entry ended after ${out} of ${entry.size} bytes: truncated`, { file: name, offset: out });
}
