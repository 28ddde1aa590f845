import { describe, expect, it } from "vitest";
import { compileWasm, packagedWasmBytes, sharedWasmMemory, withSharedMemory } from "../../loaders/wasm.js";

declare const WebAssembly: {
  Module: { imports(m: object): { module: string; name: string; kind: string }[]; exports(m: object): { name: string; kind: string }[] };
  Instance: new (module: object, imports?: object) => { exports: Record<string, unknown> };
};

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const section = (id: number, body: number[]): number[] => [id, body.length, ...body];
const name = (s: string): number[] => [s.length, ...Buffer.from(s)];
/** A module with one memory of `min` pages (optional maximum), exported as "memory", and a data segment "hi" at 16. */
function module(min: number, max?: number, extra: number[] = []): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  return Uint8Array.from([
    ...HEADER,
    ...extra,
    ...section(5, [1, ...limits]),
    ...section(7, [1, ...name("memory"), 0x02, 0x00]),
    ...section(11, [1, 0x00, 0x41, 16, 0x0b, 2, 0x68, 0x69]),
  ]);
}

describe("withSharedMemory: a module's own memory becomes an imported shared one", () => {
  it("rewrites a module that defines one memory; its data segments land in the shared memory", () => {
    for (const m of [module(2), module(1, 3)]) {
      const r = withSharedMemory(m)!;
      expect(r).not.toBeNull();
      const compiled = compileWasm(r.bytes)!;
      expect(WebAssembly.Module.imports(compiled)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
      expect(WebAssembly.Module.exports(compiled)).toEqual([{ name: "memory", kind: "memory" }]);
      const memory = sharedWasmMemory(r.pages);
      const exp = new WebAssembly.Instance(compiled, { env: { memory } }).exports;
      expect(exp["memory"]).toBe(memory);
      expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(new Uint8Array(memory.buffer, 16, 2)).toString()).toBe("hi");
    }
    expect(withSharedMemory(module(2))!.pages).toBe(2);
  });

  it("leaves alone what it does not handle: an import section, no memory, not a module", () => {
    const withImport = module(1, undefined, [...section(1, [1, 0x60, 0, 0]), ...section(2, [1, ...name("env"), ...name("f"), 0x00, 0x00])]);
    expect(compileWasm(withImport)).not.toBeNull();
    expect(withSharedMemory(withImport)).toBeNull();
    expect(withSharedMemory(Uint8Array.from(HEADER))).toBeNull();
    expect(withSharedMemory(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toBeNull();
    expect(withSharedMemory(module(2).subarray(0, 12))).toBeNull(); // cut mid-section
  });

  it("rewrites the decoder module hysnappy ships", () => {
    const bytes = packagedWasmBytes("hysnappy/js/uncompress.js", /const wasm64 = '([A-Za-z0-9+/=]+)'/)!;
    expect(bytes).not.toBeNull();
    const r = withSharedMemory(bytes)!;
    expect(compileWasm(r.bytes)).not.toBeNull();
  });
});
