/**
 * Chat templates: the built-in ChatML and Llama-3 templates, and the `chat_template` of a model's
 * `tokenizer_config.json` (HF format: a Jinja string, or a list of `{name, template}`), compiled once
 * with `@huggingface/jinja`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Template } from "@huggingface/jinja";
import { ChatTemplateError } from "../errors.js";

/** A compiled chat template plus the tokens it refers to. */
export interface ChatTemplate {
  /** `chatml`, `llama3`, or the config file it came from. */
  name: string;
  /** Jinja source. */
  source: string;
  /** Compiled template. */
  compiled: Template;
  /** Rendered as `bos_token`. */
  bosToken: string;
  /** Rendered as `eos_token`. */
  eosToken: string;
  /**
   * The string that ends an assistant turn and is trained together with its content (`<|im_end|>`,
   * `<|eot_id|>`). `undefined`: detected from the tokenizer's special tokens at encode time.
   */
  endOfTurn: string | undefined;
  /**
   * How the template writes each message's content, where that is known (the built-in sources):
   * as it is, or trimmed (Jinja's `| trim`), with nothing else in the text depending on it. The
   * rendered text is then the skeleton's scaffolding around the contents (see `renderChat`), and the
   * template is rendered once per sequence of roles, not once per conversation.
   */
  contents?: "verbatim" | "trimmed";
}

/** ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), as used by Qwen, OpenHermes, … */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Llama-3 Instruct (content trimmed, as Meta's template does). */
export const LLAMA3_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

function compile(name: string, source: string): Template {
  try {
    return new Template(source);
  } catch (e) {
    throw new ChatTemplateError(`cannot parse chat template ${name}: ${(e as Error).message}`, { file: name }, { cause: e });
  }
}

/** Options of {@link chatTemplate}. */
export interface ChatTemplateOptions {
  bosToken?: string;
  eosToken?: string;
  /** Override the end-of-turn string. */
  endOfTurn?: string;
}

/** A template from Jinja source. */
export function chatTemplate(name: string, source: string, options: ChatTemplateOptions = {}): ChatTemplate {
  return {
    name,
    source,
    compiled: compile(name, source),
    bosToken: options.bosToken ?? "",
    eosToken: options.eosToken ?? "",
    endOfTurn: options.endOfTurn,
    ...(KNOWN_CONTENTS.has(source) ? { contents: KNOWN_CONTENTS.get(source)! } : {}),
  };
}

/** Sources whose content placement is known (see `ChatTemplate.contents`): a content only ever goes into the text as it is, or trimmed. */
const KNOWN_CONTENTS = new Map<string, "verbatim" | "trimmed">([
  [CHATML_TEMPLATE, "verbatim"],
  [LLAMA3_TEMPLATE, "trimmed"],
]);

/** Built-in templates: `chatml` or `llama3`. */
export function builtinTemplate(name: "chatml" | "llama3", options: ChatTemplateOptions = {}): ChatTemplate {
  if (name === "chatml") return chatTemplate("chatml", CHATML_TEMPLATE, { endOfTurn: "<|im_end|>", ...options });
  if (name === "llama3") {
    return chatTemplate("llama3", LLAMA3_TEMPLATE, { bosToken: "<|begin_of_text|>", eosToken: "<|end_of_text|>", endOfTurn: "<|eot_id|>", ...options });
  }
  throw new ChatTemplateError(`unknown built-in chat template "${String(name)}"; use "chatml" or "llama3", or load a tokenizer_config.json`);
}

/** HF special-token fields are a string or `{ content: string, … }`. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

/**
 * The chat template of a `tokenizer_config.json` (path or parsed object), or of the
 * `chat_template.jinja` beside it when the config has none. A list of named templates picks `templateName`.
 * @param templateName @default "default"
 */
export function templateFromConfig(config: string | Record<string, unknown>, templateName = "default", options: ChatTemplateOptions = {}): ChatTemplate {
  const file = typeof config === "string" ? config : "tokenizer_config.json";
  let cfg: Record<string, unknown>;
  if (typeof config === "string") {
    try {
      cfg = JSON.parse(readFileSync(config, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new ChatTemplateError(`cannot read tokenizer config: ${(e as Error).message}`, { file }, { cause: e });
    }
  } else cfg = config;
  const raw = cfg["chat_template"];
  let source: string | undefined;
  if (typeof raw === "string") source = raw;
  else if (Array.isArray(raw)) {
    const hit = (raw as { name?: unknown; template?: unknown }[]).find((t) => t.name === templateName);
    if (typeof hit?.template === "string") source = hit.template;
  }
  // Newer HF repos keep the template in chat_template.jinja beside tokenizer_config.json.
  const jinja = typeof config === "string" ? join(dirname(config), "chat_template.jinja") : undefined;
  if (source === undefined && jinja !== undefined && existsSync(jinja)) source = readFileSync(jinja, "utf8");
  if (source === undefined) {
    throw new ChatTemplateError(
      `no chat_template${Array.isArray(raw) ? ` named "${templateName}"` : ""}; use builtinTemplate("chatml" | "llama3") instead`,
      { file, field: "chat_template" },
    );
  }
  return chatTemplate(file, source, {
    bosToken: tokenString(cfg["bos_token"]) ?? "",
    eosToken: tokenString(cfg["eos_token"]) ?? "",
    ...options,
  });
}
