/**
 * Records → {@link Document}s: field selection (dotted paths), templates (`{question}\n\n{answer}`),
 * prompt/completion pairs, and chat normalization (`messages: [{role, content}]` and ShareGPT
 * `conversations: [{from, value}]` become one `messages` shape). A spec is compiled once into a
 * function; per record it only looks fields up.
 */
import { InputFormatError, MissingFieldError } from "../src/errors.js";
import type { ErrorContext } from "../src/errors.js";
import type { Document, DocumentSpec, Message, RawRecord, SourceRef } from "./types.js";

/** Turns one record into a document, or `null` when the record is skipped (null text, `onNull: "skip"`). */
export type DocumentMaker = (rec: RawRecord, source: SourceRef) => Document | null;

/** ShareGPT `from` values → roles. Others pass through unchanged (`tool`, `function_call`...). */
const SHAREGPT_ROLES: Record<string, string> = {
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  chatgpt: "assistant",
  bard: "assistant",
  bing: "assistant",
  system: "system",
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

function ctxOf(src: SourceRef, field?: string): ErrorContext {
  const c: ErrorContext = { file: src.file };
  if (src.line !== undefined) c.line = src.line;
  if (src.row !== undefined) c.row = src.row;
  if (field !== undefined) c.field = field;
  return c;
}

function missing(rec: RawRecord, field: string, src: SourceRef): MissingFieldError {
  const names = Object.keys(rec);
  return new MissingFieldError(`no field "${field}"; the record has: ${names.length ? names.map((n) => JSON.stringify(n)).join(", ") : "(no fields)"}; choose one with --field or a template`, ctxOf(src, field), names);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "binary";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Looks up `field`, trying the literal key first, then a dotted path. `undefined` when absent. */
export function getField(rec: RawRecord, field: string): unknown {
  if (field in rec) return rec[field];
  if (!field.includes(".")) return undefined;
  let cur: unknown = rec;
  for (const part of field.split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in (cur as object))) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A field's value as a string: strings as is, binary decoded as strict UTF-8, anything else an error. */
function asString(v: unknown, field: string, src: SourceRef): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) {
    try {
      return utf8.decode(v);
    } catch {
      throw new InputFormatError("binary value is not valid UTF-8 text", ctxOf(src, field));
    }
  }
  throw new InputFormatError(`expected a string, got ${typeName(v)}; pick a text field or use a template`, ctxOf(src, field));
}

/** Parses `"{a}\n\n{b}"` into literal parts and field names; `{{`/`}}` are literal braces. */
export function parseTemplate(t: string): { literals: string[]; fields: string[] } {
  const literals: string[] = [];
  const fields: string[] = [];
  let lit = "";
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === "{" && t[i + 1] === "{") {
      lit += "{";
      i++;
    } else if (c === "}" && t[i + 1] === "}") {
      lit += "}";
      i++;
    } else if (c === "{") {
      const close = t.indexOf("}", i);
      if (close < 0) throw new InputFormatError(`template has an unclosed "{" at character ${i}: ${JSON.stringify(t)}`);
      literals.push(lit);
      lit = "";
      fields.push(t.slice(i + 1, close).trim());
      i = close;
    } else lit += c;
  }
  literals.push(lit);
  return { literals, fields };
}

/** Template value: strings/binary as text, numbers/booleans/bigints via String(), null → "". */
function templateValue(v: unknown, field: string, src: SourceRef): string {
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v === null) return "";
  return asString(v, field, src);
}

function normalizeChat(list: unknown, field: string, src: SourceRef): Message[] {
  if (!Array.isArray(list)) throw new InputFormatError(`expected a list of chat turns, got ${typeName(list)}`, ctxOf(src, field));
  const out: Message[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const m = list[i] as Record<string, unknown> | null;
    if (m === null || typeof m !== "object") throw new InputFormatError(`turn ${i} is ${typeName(m)}, expected an object`, ctxOf(src, field));
    if ("from" in m && "value" in m) {
      const from = asString(m["from"], `${field}[${i}].from`, src);
      out[i] = { role: SHAREGPT_ROLES[from] ?? from, content: asString(m["value"], `${field}[${i}].value`, src) };
    } else if ("role" in m && "content" in m) {
      out[i] = { role: asString(m["role"], `${field}[${i}].role`, src), content: chatContent(m["content"], `${field}[${i}].content`, src) };
    } else {
      throw new InputFormatError(`turn ${i} needs {role, content} or {from, value}; it has: ${Object.keys(m).join(", ")}`, ctxOf(src, field));
    }
  }
  return out;
}

/** OpenAI-style content: a string, null (tool calls) → "", or a list of `{type: "text", text}` parts. */
function chatContent(v: unknown, field: string, src: SourceRef): string {
  if (v === null) return "";
  if (Array.isArray(v)) {
    let s = "";
    for (let i = 0; i < v.length; i++) {
      const text = (v[i] as { text?: unknown } | null)?.text;
      // parquet's streamed columns give text as UTF-8 bytes
      if (typeof text === "string" || text instanceof Uint8Array) s += asString(text, `${field}[${i}].text`, src);
    }
    return s;
  }
  return asString(v, field, src);
}

/** Compiles a {@link DocumentSpec} into a {@link DocumentMaker}. */
export function documentMaker(spec: DocumentSpec = {}): DocumentMaker {
  const onNull = spec.onNull ?? "skip";
  const kind = spec.field !== undefined || spec.template !== undefined ? "text" : (spec.kind ?? "auto");
  if (spec.template !== undefined) {
    const { literals, fields } = parseTemplate(spec.template);
    return (rec, source) => {
      let s = literals[0]!;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const v = getField(rec, f);
        if (v === undefined) throw missing(rec, f, source);
        s += templateValue(v, f, source) + literals[i + 1]!;
      }
      return { text: s, source };
    };
  }
  const field = spec.field ?? "text";
  const text: DocumentMaker = (rec, source) => {
    const v = getField(rec, field);
    if (v === undefined) throw missing(rec, field, source);
    if (v === null) {
      if (onNull === "skip") return null;
      if (onNull === "keep") return { text: null, source };
      throw new InputFormatError("value is null", ctxOf(source, field));
    }
    return { text: asString(v, field, source), source };
  };
  const chat: DocumentMaker = (rec, source) => {
    if ("messages" in rec) return { messages: normalizeChat(rec["messages"], "messages", source), source };
    if (!("conversations" in rec)) throw missing(rec, "messages", source);
    const messages = normalizeChat(rec["conversations"], "conversations", source);
    const sys = rec["system"];
    const system = typeof sys === "string" || sys instanceof Uint8Array ? asString(sys, "system", source) : "";
    if (system.length > 0 && messages[0]?.role !== "system") messages.unshift({ role: "system", content: system });
    return { messages, source };
  };
  const pair: DocumentMaker = (rec, source) => {
    const p = getField(rec, "prompt");
    if (p === undefined) throw missing(rec, "prompt", source);
    const c = getField(rec, "completion");
    if (c === undefined) throw missing(rec, "completion", source);
    return { prompt: asString(p, "prompt", source), completion: asString(c, "completion", source), source };
  };
  switch (kind) {
    case "text":
      return text;
    case "chat":
      return chat;
    case "prompt_completion":
      return pair;
    case "auto":
      return (rec, source) => {
        if ("messages" in rec || "conversations" in rec) return chat(rec, source);
        if ("prompt" in rec && "completion" in rec && !(field in rec)) return pair(rec, source);
        return text(rec, source);
      };
  }
}

/** Top-level field names a spec needs (parquet reads only these columns); `undefined` = all. */
export function neededColumns(spec: DocumentSpec, available: readonly string[]): string[] | undefined {
  if (spec.template !== undefined) return [...new Set(parseTemplate(spec.template).fields.map((f) => topLevel(f, available)))];
  if (spec.field !== undefined) return [topLevel(spec.field, available)];
  const kind = spec.kind ?? "auto";
  const has = (n: string) => available.includes(n);
  if (kind === "chat" || (kind === "auto" && (has("messages") || has("conversations")))) {
    return available.filter((n) => n === "messages" || n === "conversations" || n === "system");
  }
  if (kind === "prompt_completion" || (kind === "auto" && has("prompt") && has("completion") && !has("text"))) return ["prompt", "completion"];
  return has("text") ? ["text"] : undefined;
}

/** The fields of a chat turn that documents are made from: `{role, content}`, `{from, value}`, and content parts' `{type, text}`. */
export const CHAT_TURN_FIELDS: ReadonlySet<string> = new Set(["role", "content", "from", "value", "type", "text"]);

/**
 * The columns of `available` that a spec reads only as lists of chat turns (`messages`,
 * `conversations`), of whose turns only {@link CHAT_TURN_FIELDS} are used.
 */
export function chatTurnColumns(spec: DocumentSpec, available: readonly string[]): string[] {
  // a field or template reads these columns as text, not as turns
  if (spec.template !== undefined || spec.field !== undefined) return [];
  return (neededColumns(spec, available) ?? []).filter((n) => n === "messages" || n === "conversations");
}

function topLevel(field: string, available: readonly string[]): string {
  if (available.includes(field)) return field;
  return field.split(".")[0]!;
}
