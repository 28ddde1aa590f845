/**
 * The only module that imports `@tensorflow/tfjs`. Everything else in tokpack reaches TensorFlow.js
 * through the `tf` namespace and the types re-exported here, so there is one engine and one place
 * that picks the backend.
 *
 * Backends, in the order `initBackend()` tries them:
 * 1. `@tensorflow/tfjs-node-gpu` (CUDA) and 2. `@tensorflow/tfjs-node` (libtensorflow on CPU) —
 *    optional peer dependencies, loaded with a dynamic `import()` only when installed. Their install
 *    scripts download libtensorflow from outside the npm registry, so they are not installed here.
 * 3. `wasm` (`@tensorflow/tfjs-backend-wasm`, SIMD when available) and 4. `cpu` (plain JS, always there).
 * Both node packages register the `tensorflow` backend into the same global engine as `@tensorflow/tfjs`.
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor4D, Rank, Scalar, TensorContainer, Variable } from "@tensorflow/tfjs";
/** `tf.data.Dataset` (the namespace does not export the class type by name). */
export type Dataset<T extends tf.TensorContainer> = tf.data.Dataset<T>;

/** A backend `initBackend` can choose. */
export type BackendChoice = "node-gpu" | "node" | "wasm" | "cpu";

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /**
   * Backends to try, in order; the first that loads wins. `$TOKPACK_TF_BACKEND` (one name or a comma
   * list) overrides the default.
   * @default ["node-gpu", "node", "wasm", "cpu"]
   */
  prefer?: readonly BackendChoice[];
  /** Where the chosen backend is reported. Pass `null` to stay silent. @default console.error */
  log?: ((message: string) => void) | null;
}

/** What `initBackend` chose. */
export interface BackendInfo {
  /** The tfjs backend name now active (`tensorflow`, `wasm`, `cpu`). */
  backend: string;
  /** The choice that succeeded. */
  choice: BackendChoice;
  /** Why earlier choices were skipped (not installed, failed to initialise). */
  skipped: string[];
}

const PACKAGES: Record<BackendChoice, string | undefined> = {
  "node-gpu": "@tensorflow/tfjs-node-gpu",
  node: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: undefined,
};
const BACKEND_NAME: Record<BackendChoice, string> = { "node-gpu": "tensorflow", node: "tensorflow", wasm: "wasm", cpu: "cpu" };

// wasm before cpu: a [512,512]×[512,64] matMul takes 5 ms on wasm (SIMD) vs 83 ms on the JS cpu
// backend here, and a TinyLM training step is ~6× faster (640 ms vs 3760 ms, 2 busy cores).
const DEFAULT_ORDER: readonly BackendChoice[] = ["node-gpu", "node", "wasm", "cpu"];

function envOrder(): BackendChoice[] | undefined {
  const v = process.env["TOKPACK_TF_BACKEND"];
  if (v === undefined || v.trim() === "") return undefined;
  const names = v.split(",").map((s) => s.trim()) as BackendChoice[];
  for (const n of names) {
    if (!(n in PACKAGES)) throw new Error(`TOKPACK_TF_BACKEND: unknown backend "${n}"; use node-gpu, node, wasm or cpu`);
  }
  return names;
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

let chosen: Promise<BackendInfo> | undefined;

/**
 * Pick and activate a backend once per process (later calls return the first result); logs the
 * choice. Falls back to `cpu`, which always exists.
 */
export function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  chosen ??= select(options);
  return chosen;
}

async function select(options: BackendOptions): Promise<BackendInfo> {
  const order = envOrder() ?? options.prefer ?? DEFAULT_ORDER;
  const log = options.log === undefined ? (m: string) => console.error(m) : options.log;
  const skipped: string[] = [];
  for (const choice of [...order, "cpu" as const]) {
    const pkg = PACKAGES[choice];
    if (pkg !== undefined && !installed(pkg)) {
      skipped.push(`${choice}: ${pkg} not installed`);
      continue;
    }
    try {
      if (pkg !== undefined) await import(pkg);
      if (!(await tf.setBackend(BACKEND_NAME[choice]))) throw new Error(`backend "${BACKEND_NAME[choice]}" failed to initialise`);
      await tf.ready();
      const info: BackendInfo = { backend: tf.getBackend(), choice, skipped };
      log?.(`tokpack: tfjs backend "${info.backend}" (${pkg ?? "@tensorflow/tfjs cpu"})${skipped.length ? `; skipped: ${skipped.join("; ")}` : ""}`);
      return info;
    } catch (e) {
      skipped.push(`${choice}: ${(e as Error).message}`);
    }
  }
  throw new Error("unreachable: the cpu backend always exists");
}
