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
};

/**
 * The WebAssembly module whose base64 `pattern`'s first group finds in the package file
 * `specifier` resolves to, compiled; null when the file or the string is not there (another
 * version's layout), so callers fall back to the package's API.
 */
export function packagedWasmModule(specifier: string, pattern: RegExp): object | null {
  try {
    const b64 = pattern.exec(readFileSync(fileURLToPath(import.meta.resolve(specifier)), "utf8"))?.[1];
    return b64 === undefined ? null : new WebAssembly.Module(Buffer.from(b64, "base64"));
  } catch {
    return null;
  }
}

/**
 * A new instance of `module` whose exports include `functions` and a `memory`, else undefined.
 * @param imports what the module imports (none for hysnappy; an emscripten hook for zstddec)
 */
export function instantiateWith<T>(module: object, functions: readonly string[], imports?: object): T | undefined {
  const exp = new WebAssembly.Instance(module, imports).exports;
  return exp["memory"] !== undefined && functions.every((f) => typeof exp[f] === "function") ? (exp as T) : undefined;
}
