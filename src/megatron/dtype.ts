/**
 * Megatron-Core's dtype codes (`megatron/core/datasets/indexed_dataset.py`, `DType`) and the choice
 * `preprocess_data.py` makes: uint16 below a vocabulary of 65,500 ids, int32 otherwise.
 */

/** Dtype name → the one-byte code stored in a `.idx` header. */
export const DTYPE_CODES = {
  uint8: 1,
  int8: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  float64: 6,
  float32: 7,
  uint16: 8,
} as const;

/** The token dtypes tokpack writes. */
export type TokenDtype = "uint16" | "int32";

/** Bytes per element of a token dtype. */
export function dtypeSize(dtype: TokenDtype): number {
  return dtype === "uint16" ? 2 : 4;
}

/** Megatron's rule: `uint16` when every id fits below 65,500, else `int32`. */
export function dtypeForVocab(vocabSize: number): TokenDtype {
  return vocabSize < 65500 ? "uint16" : "int32";
}

/** The dtype of a header code, or undefined for codes tokpack does not read as tokens. */
export function dtypeFromCode(code: number): TokenDtype | undefined {
  if (code === DTYPE_CODES.uint16) return "uint16";
  if (code === DTYPE_CODES.int32) return "int32";
  return undefined;
}
