// TEMPORARY STUB (lead's local placeholder, never committed): helper-4 owns this file and replaces it.
import type { Decoder, Model } from "./components.js";
export interface WordPieceJson { type: "WordPiece"; vocab: Record<string, number>; unk_token: string }
export function createWordPieceModel(_json: WordPieceJson, _where: string): Model { throw new Error("stub"); }
export function createWordPieceDecoder(_cfg: { prefix?: string; cleanup?: boolean }): Decoder { throw new Error("stub"); }
