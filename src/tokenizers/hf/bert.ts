// TEMPORARY STUB (lead's local placeholder, never committed): helper-4 owns this file and replaces it.
import type { Normalizer, PreTokenizer } from "./components.js";
export function createBertNormalizer(_cfg: object): Normalizer { throw new Error("stub"); }
export const bertPreTokenizer: PreTokenizer = { split() { throw new Error("stub"); } };
