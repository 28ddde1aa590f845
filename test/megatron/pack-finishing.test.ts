/**
 * `packToDisk` stopped during its final renames — after every output was written and marked
 * "finishing", before the manifest is in place (here: `placeManifest` throws once, as a kill there
 * would stop it) — resumes by completing the renames and placing the manifest, to the bytes of an
 * uninterrupted run.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { packToDisk, type PackToDiskOptions } from "../../src/megatron/pack.js";
import { subset, tempDir } from "../pipeline/helpers.js";

const stop = vi.hoisted(() => ({ placeManifest: false }));

vi.mock("../../src/megatron/manifest.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/megatron/manifest.js")>();
  return {
    ...real,
    placeManifest: (dir: string): void => {
      if (stop.placeManifest) {
        stop.placeManifest = false;
        throw new Error("stopped before the manifest was placed");
      }
      real.placeManifest(dir);
    },
  };
});

const tmp = tempDir("pack-finishing");
const gsm = subset(tmp, "gsm.jsonl", ["data", "jsonl", "gsm8k", "train.jsonl"], 300);

/** sha256 of every file in an output directory, by name (the manifest's by its counts). */
function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => {
        const bytes = readFileSync(join(dir, f));
        return [f, f === "manifest.json" ? JSON.stringify((JSON.parse(bytes.toString("utf8")) as { counts: unknown }).counts) : createHash("sha256").update(bytes).digest("hex")];
      }),
  );
}

function options(out: string): PackToDiskOptions {
  return { sources: gsm, loader: { document: { template: "{question}\n\n{answer}" } }, tokenizer: "gpt2", out, seqLen: 128, batchSize: 2, packing: "pad", workers: 0 };
}

describe("packToDisk stopped during its final renames", () => {
  it("leaves the outputs marked finishing, and --resume places the manifest, to an uninterrupted run's bytes", async () => {
    const ref = join(tmp, "ref");
    await packToDisk(options(ref));

    const out = join(tmp, "stopped");
    stop.placeManifest = true;
    await expect(packToDisk(options(out))).rejects.toThrow("stopped before the manifest was placed");
    expect(existsSync(join(out, "manifest.json"))).toBe(false);
    expect(existsSync(join(out, "manifest.json.tmp"))).toBe(true);
    const cp = JSON.parse(readFileSync(join(out, ".tokpack-checkpoint.json"), "utf8")) as { finishing?: unknown };
    expect(cp.finishing).toBeDefined();
    // every byte was written before the renames began: they are all done
    for (const f of ["data.bin", "data.idx", "input_ids.npy"]) expect(existsSync(join(out, f))).toBe(true);

    const resumed = await packToDisk({ ...options(out), resume: true });
    expect(resumed.resumed).toBe(true);
    expect(digest(out)).toEqual(digest(ref));
  });
});
