/**
 * WebAssembly decoders that npm packages ship inline (base64 in a JS file), instantiated here so
 * tokpack can call their exports directly (`snappy.ts`, `zstd.ts`): the packages' own wrappers
 * return a fresh copy of every page.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A WebAssembly memory, as far as it is used here. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The parts of the WebAssembly global used here (this project's Node types do not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
};

/**
 * The WebAssembly module whose base64 `pattern`'s first group finds in the package file
 * `specifier` resolves to, compiled; null when the file or the string is not there (another
 * version's layout), so callers fall back to the package's API.
 */
export function packagedWasmModule(specifier: string, pattern: RegExp): object | null {
  const bytes = packagedWasmBytes(specifier, pattern);
  return bytes === null ? null : compileWasm(bytes);
}

/** `bytes` compiled, or null when they are not a valid module here. */
export function compileWasm(bytes: Uint8Array): object | null {
  try {
    return new WebAssembly.Module(bytes);
  } catch {
    return null;
  }
}

/** The bytes of the WebAssembly module {@link packagedWasmModule} would compile; null when not found. */
export function packagedWasmBytes(specifier: string, pattern: RegExp): Uint8Array | null {
  try {
    const b64 = pattern.exec(readFileSync(fileURLToPath(import.meta.resolve(specifier)), "utf8"))?.[1];
    return b64 === undefined ? null : Buffer.from(b64, "base64");
  } catch {
    return null;
  }
}

/** Largest 32-bit WebAssembly memory, in 64 KiB pages (4 GiB). */
const MAX_PAGES = 65536;

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/**
 * `bytes` rewritten so that the module imports its memory as a shared one (`env.memory`, maximum 4
 * GiB) instead of defining its own, and the memory's minimum size in 64 KiB pages; null unless the module defines exactly one memory and imports
 * none (then nothing else changes: the memory keeps index 0, so its export and data segments still
 * apply). A shared memory's buffer is a SharedArrayBuffer, which another thread can touch (see
 * `prefault.ts`), and growing it never detaches views of it.
 */
export function withSharedMemory(bytes: Uint8Array): { bytes: Uint8Array; pages: number } | null {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return null;
  let p = 8;
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      if (b === undefined || shift > 28) throw new Error("bad LEB128");
      r += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return r;
      shift += 7;
    }
  };
  const sections: { id: number; start: number; end: number; body: number }[] = [];
  try {
    while (p < bytes.length) {
      const start = p;
      const id = bytes[p++]!;
      const size = leb();
      sections.push({ id, start, end: p + size, body: p });
      p += size;
    }
  } catch {
    return null;
  }
  if (p !== bytes.length || sections.some((s) => s.id === 2)) return null; // an import section: not handled
  const memory = sections.filter((s) => s.id === 5);
  if (memory.length !== 1) return null;
  const mem = memory[0]!;
  // memory section: count 1, then limits (flag 0: minimum; flag 1: minimum and maximum)
  p = mem.body;
  let min: number;
  try {
    if (leb() !== 1) return null;
    const flag = bytes[p++];
    if (flag !== 0 && flag !== 1) return null;
    min = leb();
    if (flag === 1) leb();
  } catch {
    return null;
  }
  if (p !== mem.end || min > MAX_PAGES) return null;
  const name = (s: string): number[] => [s.length, ...Buffer.from(s, "latin1")];
  // one import: "env"."memory", kind memory, limits flag 3 (shared, with maximum)
  const entry = [1, ...name("env"), ...name("memory"), 0x02, 0x03, ...leb128(min), ...leb128(MAX_PAGES)];
  const importSection = [2, ...leb128(entry.length), ...entry];
  const before = sections.find((s) => s.id !== 0 && s.id > 2);
  if (before === undefined || before.start > mem.start) return null; // sections out of order
  const parts = [bytes.subarray(0, before.start), Uint8Array.from(importSection), bytes.subarray(before.start, mem.start), bytes.subarray(mem.end)];
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return { bytes: out, pages: min };
}

/** A shared memory of `pages` 64 KiB pages that {@link withSharedMemory}'s modules can import. */
export function sharedWasmMemory(pages: number): WasmMemory {
  return new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}


/**
 * A new instance of `module` whose exports include `functions` and a `memory`, else undefined.
 * @param imports what the module imports (none for hysnappy; an emscripten hook for zstddec)
 */
export function instantiateWith<T>(module: object, functions: readonly string[], imports?: object): T | undefined {
  const exp = new WebAssembly.Instance(module, imports).exports;
  return exp["memory"] !== undefined && functions.every((f) => typeof exp[f] === "function") ? (exp as T) : undefined;
}
