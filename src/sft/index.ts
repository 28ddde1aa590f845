// SFT: chat templates, rendering with content spans, and loss-masked encoding for the packers.
export { builtinTemplate, chatTemplate, templateFromConfig, CHATML_TEMPLATE, LLAMA3_TEMPLATE, type ChatTemplate, type ChatTemplateOptions } from "./templates.js";
export { renderChat, type ChatMessage, type RenderedPart, type RenderOptions } from "./render.js";
export {
  encodeChat,
  encodePromptCompletion,
  encodeDocument,
  type EncodeChatOptions,
  type PromptCompletion,
  type PromptCompletionOptions,
  type SftDocument,
  type EncodeDocumentOptions,
} from "./encode.js";
