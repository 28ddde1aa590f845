/**
 * Render a conversation with a chat template and split the result into parts: template text versus
 * each message's content. The template is rendered twice — once with every content replaced by a
 * private-use sentinel (which no template transforms) to find the scaffolding, once for real — and the
 * real text is walked scaffold by scaffold, so contents are located exactly even when the template
 * adds system prompts, repeats role names, or trims content (`| trim`).
 */
import { ChatTemplateError } from "../errors.js";
import type { ChatTemplate } from "./templates.js";

/** One chat turn (`loaders` normalise ShareGPT `human`/`gpt` to `user`/`assistant`). */
export interface ChatMessage {
  role: string;
  content: string;
}

/** A run of rendered text: template scaffolding, or the content of message `message`. */
export interface RenderedPart {
  text: string;
  /** Index into the messages for content, -1 for template text. */
  message: number;
}

/** Options of {@link renderChat}. */
export interface RenderOptions {
  /** Passed to the template as `add_generation_prompt`. @default false */
  addGenerationPrompt?: boolean;
  /** Extra template variables (`tools`, `date_string`, …). */
  variables?: Record<string, unknown>;
}

const SENTINEL = /\uE000(\d+)\uE001/g;
const sentinel = (i: number): string => `\uE000${i}\uE001`;

function render(t: ChatTemplate, messages: readonly ChatMessage[], opts: RenderOptions, what: string): string {
  try {
    return t.compiled.render({
      ...opts.variables,
      messages,
      bos_token: t.bosToken,
      eos_token: t.eosToken,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    });
  } catch (e) {
    throw new ChatTemplateError(`template ${t.name} failed to render ${what}: ${(e as Error).message}`, {}, { cause: e });
  }
}

/** The full rendered text and its parts, in order; `parts.map(p => p.text).join("") === text`. */
export function renderChat(t: ChatTemplate, messages: readonly ChatMessage[], opts: RenderOptions = {}): { text: string; parts: RenderedPart[] } {
  messages.forEach((m, i) => {
    if (typeof m.content !== "string") throw new ChatTemplateError(`message ${i} (${m.role}): content must be a string`, { row: i, field: "content" });
    if (m.content.includes("\uE000")) {
      throw new ChatTemplateError(`message ${i} (${m.role}): content contains U+E000, which tokpack reserves to locate contents`, { row: i, field: "content" });
    }
  });
  const skeleton = render(t, messages.map((m, i) => ({ ...m, content: sentinel(i) })), opts, "the conversation skeleton");
  const text = render(t, messages, opts, "the conversation");
  const parts: RenderedPart[] = [];
  let at = 0; // position in `text`
  let last = 0; // position in `skeleton`
  const scaffold = (s: string): void => {
    if (s === "") return;
    if (!text.startsWith(s, at)) {
      throw new ChatTemplateError(`template ${t.name}: its text depends on message content, so contents cannot be located (at character ${at})`);
    }
    parts.push({ text: s, message: -1 });
    at += s.length;
  };
  for (const m of skeleton.matchAll(SENTINEL)) {
    scaffold(skeleton.slice(last, m.index));
    last = m.index + m[0].length;
    const i = Number(m[1]);
    const content = messages[i]!.content;
    const trimmed = content.trim();
    const found = text.startsWith(content, at) ? content : text.startsWith(trimmed, at) ? trimmed : undefined;
    if (found === undefined) {
      throw new ChatTemplateError(`template ${t.name}: content of message ${i} (${messages[i]!.role}) is transformed beyond trimming; cannot build a loss mask`, {
        row: i,
      });
    }
    if (found !== "") parts.push({ text: found, message: i });
    at += found.length;
  }
  scaffold(skeleton.slice(last));
  if (at !== text.length) throw new ChatTemplateError(`template ${t.name}: rendered text has ${text.length - at} unexplained trailing characters`);
  return { text, parts };
}
