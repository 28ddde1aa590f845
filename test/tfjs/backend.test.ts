/** Backend selection: tfjs-node(-gpu) are optional and absent here, so the fallback chain is exercised. */
import { describe, expect, it } from "vitest";
import { buildAttentionMask, initBackend, tf } from "../../src/tfjs/index.js";

describe("initBackend", () => {
  it("skips missing tfjs-node(-gpu), lands on wasm, logs the choice, and runs the mask there", async () => {
    const logs: string[] = [];
    const info = await initBackend({ prefer: ["node-gpu", "node", "wasm"], log: (m) => logs.push(m) });
    expect(info.choice).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(info.skipped.join("\n")).toMatch(/@tensorflow\/tfjs-node-gpu not installed/);
    expect(info.skipped.join("\n")).toMatch(/@tensorflow\/tfjs-node not installed/);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/tfjs backend "wasm"/);
    expect(await initBackend()).toBe(info); // chosen once per process
    const seg = tf.tensor2d(new Int32Array([1, 1, 2, 0]), [1, 4], "int32");
    const m = buildAttentionMask(seg);
    expect(Array.from(m.dataSync())).toEqual([1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    tf.dispose([seg, m]);
  });
});
