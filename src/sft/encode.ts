/**
 * SFT examples → `{ ids, lossMask }` documents for the packers. The text is rendered with a chat
 * template, split into parts (see render.ts), and encoded part by part with the Tokenizer contract, so
 * every token knows whether it belongs to a trained span: the assistant's content plus its
 * end-of-turn token (or a completion plus EOS). Template text is encoded with special tokens
 * recognised; message content with `allowedSpecial: "none"`, so with tiktoken encodings user text
 * cannot inject control tokens (HF tokenizers always recognise their added tokens, as `tokenizers` does).
 */
import { ChatTemplateError } from "../errors.js";
import type { TokenizedDoc } from "../../packers/types.js";
import { encodeIntoGrowable } from "../tokenizers/grow.js";
import type { EncodeOptions, Tokenizer } from "../tokenizers/types.js";
import { renderChat, type ChatMessage, type RenderOptions } from "./render.js";
import type { ChatTemplate } from "./templates.js";

/** A span of text and whether its tokens are training targets. */
interface Span {
  text: string;
  train: boolean;
  special: boolean;
}

/** Options of {@link encodeChat}. */
export interface EncodeChatOptions extends RenderOptions {
  /** Roles whose content (and end-of-turn) are trained. @default ["assistant"] */
  trainRoles?: readonly string[];
  /** Passed to every encode call; templates carry their own BOS. @default false */
  addSpecialTokens?: boolean;
}

/** Encode options by span kind (template text or content) and `addSpecialTokens`. */
const SCAFFOLD: EncodeOptions = { allowedSpecial: "all", addSpecialTokens: false };
const SCAFFOLD_WITH_SPECIALS: EncodeOptions = { allowedSpecial: "all", addSpecialTokens: true };
const CONTENT: EncodeOptions = { allowedSpecial: "none", addSpecialTokens: false };
const CONTENT_WITH_SPECIALS: EncodeOptions = { allowedSpecial: "none", addSpecialTokens: true };

/** Ids of the spans of the conversation being encoded: grown to the longest conversation, reused (encodeChat is synchronous). */
let scratch = new Uint32Array(1 << 14);

function encodeSpans(tokenizer: Tokenizer, spans: readonly Span[], addSpecialTokens: boolean): TokenizedDoc {
  const ends: number[] = []; // where each span's ids end in `scratch`
  let n = 0;
  for (const s of spans) {
    const options = s.special ? (addSpecialTokens ? SCAFFOLD_WITH_SPECIALS : SCAFFOLD) : addSpecialTokens ? CONTENT_WITH_SPECIALS : CONTENT;
    if (s.text !== "") {
      const r = encodeIntoGrowable(tokenizer, s.text, scratch, n, options);
      scratch = r.buf;
      n += r.count;
    }
    ends.push(n);
  }
  const ids = scratch.slice(0, n);
  const lossMask = new Uint8Array(n);
  let at = 0;
  for (let k = 0; k < spans.length; k++) {
    if (spans[k]!.train) lossMask.fill(1, at, ends[k]);
    at = ends[k]!;
  }
  return { ids, lossMask };
}

/** The end-of-turn string at the start of `following`: the template's, else the longest special token. */
function endOfTurnAt(following: string, template: ChatTemplate, tokenizer: Tokenizer): string | undefined {
  if (template.endOfTurn !== undefined) return following.startsWith(template.endOfTurn) ? template.endOfTurn : undefined;
  let best: string | undefined;
  for (const tok of tokenizer.specialTokens.keys()) {
    if (following.startsWith(tok) && (best === undefined || tok.length > best.length)) best = tok;
  }
  if (best === undefined && template.eosToken !== "" && following.startsWith(template.eosToken)) best = template.eosToken;
  return best;
}

/**
 * Render and encode one conversation; `lossMask` is 1 on the content of `trainRoles` messages and the
 * end-of-turn string that follows each, 0 elsewhere.
 */
export function encodeChat(tokenizer: Tokenizer, template: ChatTemplate, messages: readonly ChatMessage[], options: EncodeChatOptions = {}): TokenizedDoc {
  const trainRoles = new Set(options.trainRoles ?? ["assistant"]);
  const { parts } = renderChat(template, messages, options);
  const spans: Span[] = [];
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if (part.message < 0) {
      if (spans.length > 0 && spans[spans.length - 1]!.train) {
        // a trained content ends here: its end-of-turn marker is trained too
        const eot = endOfTurnAt(part.text, template, tokenizer);
        if (eot !== undefined) {
          spans.push({ text: eot, train: true, special: true });
          spans.push({ text: part.text.slice(eot.length), train: false, special: true });
          continue;
        }
      }
      spans.push({ text: part.text, train: false, special: true });
      continue;
    }
    const role = messages[part.message]!.role;
    spans.push({ text: part.text, train: trainRoles.has(role), special: false });
  }
  if (!spans.some((s) => s.train)) {
    throw new ChatTemplateError(`conversation has no ${[...trainRoles].join("/")} content to train on (roles: ${messages.map((m) => m.role).join(", ")})`);
  }
  return encodeSpans(tokenizer, spans, options.addSpecialTokens ?? false);
}

/** A prompt/completion pair. */
export interface PromptCompletion {
  prompt: string;
  completion: string;
}

/** Options of {@link encodePromptCompletion}. */
export interface PromptCompletionOptions extends EncodeChatOptions {
  /**
   * Render as a two-turn chat (user: prompt, assistant: completion) with this template. Without one the
   * text is `prompt + separator + completion + EOS`.
   * @default undefined
   */
  template?: ChatTemplate;
  /** Between prompt and completion in plain mode (not trained). @default "\n" */
  separator?: string;
  /** Append (and train) the tokenizer's EOS token in plain mode, when it has one. @default true */
  eos?: boolean;
}

/** Encode a prompt/completion pair with completion-only loss (plus the end-of-turn / EOS token). */
export function encodePromptCompletion(tokenizer: Tokenizer, pair: PromptCompletion, options: PromptCompletionOptions = {}): TokenizedDoc {
  if (options.template !== undefined) {
    const messages = [
      { role: "user", content: pair.prompt },
      { role: "assistant", content: pair.completion },
    ];
    return encodeChat(tokenizer, options.template, messages, options);
  }
  const spans: Span[] = [
    { text: pair.prompt + (options.separator ?? "\n"), train: false, special: false },
    { text: pair.completion, train: true, special: false },
  ];
  const doc = encodeSpans(tokenizer, spans, options.addSpecialTokens ?? false);
  const eos = tokenizer.special.eos;
  if ((options.eos ?? true) === false || eos === undefined) return doc;
  const ids = new Uint32Array(doc.ids.length + 1);
  ids.set(doc.ids);
  ids[doc.ids.length] = eos;
  const lossMask = new Uint8Array(ids.length);
  lossMask.set(doc.lossMask!);
  lossMask[doc.ids.length] = 1;
  return { ids, lossMask };
}

/** The document shapes loaders yield (structurally: no import of loaders/). */
export interface SftDocument {
  text?: string | null;
  messages?: readonly ChatMessage[];
  prompt?: string;
  completion?: string;
}

/** Options of {@link encodeDocument}. */
export interface EncodeDocumentOptions extends PromptCompletionOptions {
  /** Template for `messages` documents (required for them); prompt/completion documents use it too when given. */
  template?: ChatTemplate;
  /** Append the tokenizer's EOS to plain `text` documents (pretraining style, all tokens trained). @default true */
  textEos?: boolean;
}

/**
 * One loader document → `{ ids, lossMask }`: chats through {@link encodeChat} (assistant-only loss),
 * prompt/completion pairs through {@link encodePromptCompletion} (completion-only loss), plain text
 * fully trained. Returns `undefined` for a `text: null` document.
 */
export function encodeDocument(tokenizer: Tokenizer, doc: SftDocument, options: EncodeDocumentOptions = {}): TokenizedDoc | undefined {
  if (doc.messages !== undefined) {
    if (options.template === undefined) throw new ChatTemplateError("chat documents need a template: builtinTemplate(\"chatml\" | \"llama3\") or templateFromConfig(path)");
    return encodeChat(tokenizer, options.template, doc.messages, options);
  }
  if (doc.prompt !== undefined && doc.completion !== undefined) {
    return encodePromptCompletion(tokenizer, { prompt: doc.prompt, completion: doc.completion }, options);
  }
  if (doc.text === null || doc.text === undefined) return undefined;
  const ids = tokenizer.encode(doc.text, { addSpecialTokens: options.addSpecialTokens ?? false });
  const eos = tokenizer.special.eos;
  if ((options.textEos ?? true) === false || eos === undefined) return { ids };
  const out = new Uint32Array(ids.length + 1);
  out.set(ids);
  out[ids.length] = eos;
  return { ids: out };
}
