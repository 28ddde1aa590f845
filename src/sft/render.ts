/**
 * Render a conversation with a chat template and split the result into parts: template text versus
 * each message's content. The template is rendered twice — once with every content replaced by a
 * private-use sentinel (which no template transforms) to find the scaffolding, once for real — and the
 * real text is walked scaffold by scaffold, so contents are located exactly even when the template
 * adds system prompts, repeats role names, or trims content (`| trim`). The scaffolding is rendered
 * once per sequence of roles; a template known to place contents as they are (the built-in ones:
 * `ChatTemplate.contents`) is not rendered for real at all.
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

/**
 * A rendered skeleton cut at its placeholders: `scaffolds[k]` is the template text before the k-th
 * placeholder met (the last one after all of them), `order[k]` the message whose content it stands for.
 */
interface Skeleton {
  scaffolds: string[];
  order: number[];
}

function cutSkeleton(skeleton: string): Skeleton {
  const scaffolds: string[] = [];
  const order: number[] = [];
  let last = 0;
  for (const m of skeleton.matchAll(SENTINEL)) {
    scaffolds.push(skeleton.slice(last, m.index));
    order.push(Number(m[1]));
    last = m.index + m[0].length;
  }
  scaffolds.push(skeleton.slice(last));
  return { scaffolds, order };
}

/**
 * Skeletons already rendered, per template, by the sequence of roles (and `addGenerationPrompt`): a
 * skeleton depends on nothing else when the messages have only a role and a content and no variables
 * are passed, so a dataset's conversations share a handful of them. Rendering the skeleton was half
 * of a chat's Jinja time, and Jinja ~30% of a chat pipeline's.
 */
const skeletons = new WeakMap<ChatTemplate, Map<string, Skeleton>>();
const SKELETONS_PER_TEMPLATE = 1024;

/** The cache key of `messages`' skeleton, or undefined when it may depend on more than their roles. */
function skeletonKey(messages: readonly ChatMessage[], opts: RenderOptions): string | undefined {
  if (opts.variables !== undefined) return undefined;
  let key = opts.addGenerationPrompt === true ? "g" : "-";
  for (const m of messages) {
    let fields = 0;
    for (const _ in m) fields++;
    if (fields !== 2 || typeof m.role !== "string") return undefined; // other fields (tool_calls, name) may show
    key += "\u0000" + m.role;
  }
  return key;
}

/** The skeleton of `messages`, cached under `key` (see {@link skeletonKey}) when there is one. */
function skeletonOf(t: ChatTemplate, messages: readonly ChatMessage[], opts: RenderOptions, key: string | undefined): Skeleton {
  const fresh = (): Skeleton => cutSkeleton(render(t, messages.map((m, i) => ({ ...m, content: sentinel(i) })), opts, "the conversation skeleton"));
  if (key === undefined) return fresh();
  let cache = skeletons.get(t);
  if (cache === undefined) skeletons.set(t, (cache = new Map()));
  let cut = cache.get(key);
  if (cut === undefined) {
    if (cache.size >= SKELETONS_PER_TEMPLATE) cache.clear();
    cache.set(key, (cut = fresh()));
  }
  return cut;
}

/** The full rendered text and its parts, in order; `parts.map(p => p.text).join("") === text`. */
export function renderChat(t: ChatTemplate, messages: readonly ChatMessage[], opts: RenderOptions = {}): { text: string; parts: RenderedPart[] } {
  messages.forEach((m, i) => {
    if (typeof m.content !== "string") throw new ChatTemplateError(`message ${i} (${m.role}): content must be a string`, { row: i, field: "content" });
    if (m.content.includes("\uE000")) {
      throw new ChatTemplateError(`message ${i} (${m.role}): content contains U+E000, which tokpack reserves to locate contents`, { row: i, field: "content" });
    }
  });
  const key = skeletonKey(messages, opts);
  const { scaffolds, order } = skeletonOf(t, messages, opts, key);
  // a known template's text is its scaffolding around the contents: no render of its own
  if (t.contents !== undefined && key !== undefined) return aroundContents(scaffolds, order, messages, t.contents === "trimmed");
  const text = render(t, messages, opts, "the conversation");
  const parts: RenderedPart[] = [];
  let at = 0; // position in `text`
  const scaffold = (s: string): void => {
    if (s === "") return;
    if (!text.startsWith(s, at)) {
      throw new ChatTemplateError(`template ${t.name}: its text depends on message content, so contents cannot be located (at character ${at})`);
    }
    parts.push({ text: s, message: -1 });
    at += s.length;
  };
  for (let k = 0; k < order.length; k++) {
    scaffold(scaffolds[k]!);
    const i = order[k]!;
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
  scaffold(scaffolds[order.length]!);
  if (at !== text.length) throw new ChatTemplateError(`template ${t.name}: rendered text has ${text.length - at} unexplained trailing characters`);
  return { text, parts };
}

/** The text and parts of a template whose contents go in as they are (or trimmed): scaffolds and contents in turn. */
function aroundContents(scaffolds: readonly string[], order: readonly number[], messages: readonly ChatMessage[], trimmed: boolean): { text: string; parts: RenderedPart[] } {
  const parts: RenderedPart[] = [];
  let text = "";
  for (let k = 0; k <= order.length; k++) {
    const s = scaffolds[k]!;
    if (s !== "") parts.push({ text: s, message: -1 });
    text += s;
    if (k === order.length) break;
    const i = order[k]!;
    const content = trimmed ? messages[i]!.content.trim() : messages[i]!.content;
    if (content !== "") parts.push({ text: content, message: i });
    text += content;
  }
  return { text, parts };
}
