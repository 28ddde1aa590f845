/**
 * Block-diagonal causal attention mask built on the tfjs backend from `segmentIds`: query i may attend
 * to key j iff both are in the same segment and j ≤ i. Padding (segment 0) attends only to padding, so
 * no query row is fully masked (no NaN from softmax) and real tokens never see padding.
 * The B×L×L comparison runs as backend ops; nothing of size L×L is built on the host.
 */
import { tf, type Tensor, type Tensor2D } from "./tf.js";

/** Options of {@link buildAttentionMask}. */
export interface AttentionMaskOptions {
  /** Also forbid attending to later positions. @default true */
  causal?: boolean;
  /**
   * `"bool"`: true where attention is allowed. `"additive"`: float32, 0 where allowed and `maskValue`
   * elsewhere, ready to add to attention scores before softmax.
   * @default "bool"
   */
  as?: "bool" | "additive";
  /** Value added to forbidden scores in `"additive"` mode (finite, so softmax never yields NaN). @default -1e9 */
  maskValue?: number;
}

/**
 * `[B, 1, L, L]` mask from int32 `segmentIds` `[B, L]` (1..k per row, 0 = padding), broadcastable
 * over attention heads. The caller owns the result; intermediates are freed.
 */
export function buildAttentionMask(segmentIds: Tensor2D, options: AttentionMaskOptions = {}): Tensor {
  const causal = options.causal ?? true;
  const as = options.as ?? "bool";
  const maskValue = options.maskValue ?? -1e9;
  return tf.tidy(() => {
    const [, L] = segmentIds.shape;
    const q = segmentIds.expandDims(2); // [B, L, 1]
    const k = segmentIds.expandDims(1); // [B, 1, L]
    let allowed: Tensor = tf.equal(q, k); // [B, L, L]
    if (causal) {
      const pos = tf.range(0, L, 1, "int32");
      const lower = tf.greaterEqual(pos.expandDims(1), pos.expandDims(0)); // [L, L]: j <= i
      allowed = tf.logicalAnd(allowed, lower);
    }
    allowed = allowed.expandDims(1); // [B, 1, L, L]
    if (as === "bool") return allowed;
    return tf.where(allowed, tf.zeros(allowed.shape), tf.fill(allowed.shape, maskValue));
  });
}
