/**
 * A chunk of documents written into one buffer as they are read, moved to a worker instead of
 * structured-cloned. Held as objects, a chunk's documents live until a worker takes the chunk (up to
 * `prefetch` chunks wait), long enough for V8 to promote them to the old generation, where they are
 * freed only by a full collection: with chats, 2 workers on 100k conversations peaked at 272–289 MB
 * of RSS with 256-document chunks, against 206–208 MB with 64-document ones. Written here, each
 * document dies as soon as it is read, and the chunk waits as bytes outside the heap.
 *
 * Layout, little-endian: per document a tag byte, then its strings, each a u32 byte length and its
 * UTF-8 bytes: TEXT (the text), NULL_TEXT (nothing), PAIR (prompt, completion), CHAT (a u32 message
 * count, then role and content of each).
 */
import type { ChatMessage, SftDocument } from "../sft/index.js";

const NULL_TEXT = 0;
const TEXT = 1;
const PAIR = 2;
const CHAT = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The buffer a writer writes into, kept for the next writer once one finishes (the calling thread
 * writes one chunk at a time): grown once to the largest chunk, not from 64 KiB for every chunk.
 */
let spare: Uint8Array<ArrayBuffer> | undefined;

/** Writes documents into a growing buffer. */
export class DocWriter {
  private bytes: Uint8Array<ArrayBuffer> = takeSpare();
  private view = new DataView(this.bytes.buffer);
  private at = 0;
  /** Documents written. */
  count = 0;
  /** UTF-16 code units written (a cheap size for chunking decisions). */
  chars = 0;

  add(doc: SftDocument): void {
    if (doc.messages !== undefined) {
      this.tag(CHAT, 4);
      this.view.setUint32(this.at, doc.messages.length, true);
      this.at += 4;
      for (const m of doc.messages) {
        this.string(m.role);
        this.string(m.content);
      }
    } else if (doc.prompt !== undefined && doc.completion !== undefined) {
      this.tag(PAIR, 0);
      this.string(doc.prompt);
      this.string(doc.completion);
    } else if (doc.text === null || doc.text === undefined) this.tag(NULL_TEXT, 0);
    else {
      this.tag(TEXT, 0);
      this.string(doc.text);
    }
    this.count++;
  }

  /** The documents written, in a buffer of their own (to be moved). Writes no more after this. */
  finish(): ArrayBuffer {
    const out = this.bytes.buffer.slice(0, this.at);
    if (spare === undefined || spare.byteLength < this.bytes.byteLength) spare = this.bytes;
    this.bytes = new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer);
    return out;
  }

  private tag(t: number, more: number): void {
    this.reserve(1 + more);
    this.bytes[this.at++] = t;
  }

  private string(s: string): void {
    this.chars += s.length;
    this.reserve(4 + 3 * s.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const { written } = encoder.encodeInto(s, this.bytes.subarray(this.at + 4));
    this.view.setUint32(this.at, written, true);
    this.at += 4 + written;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.bytes.byteLength) return;
    const grown = new Uint8Array(Math.max(this.at + n, 2 * this.bytes.byteLength));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

function takeSpare(): Uint8Array<ArrayBuffer> {
  const b = spare ?? new Uint8Array(1 << 16);
  spare = undefined;
  return b;
}

/** The documents of a {@link DocWriter} buffer, one at a time. */
export function* readDocs(buffer: ArrayBuffer): Generator<SftDocument, void, undefined> {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let at = 0;
  const string = (): string => {
    const n = view.getUint32(at, true);
    const s = decoder.decode(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
    return s;
  };
  while (at < bytes.byteLength) {
    const tag = bytes[at++];
    if (tag === TEXT) yield { text: string() };
    else if (tag === NULL_TEXT) yield { text: null };
    else if (tag === PAIR) {
      const prompt = string();
      yield { prompt, completion: string() };
    } else if (tag === CHAT) {
      const n = view.getUint32(at, true);
      at += 4;
      const messages: ChatMessage[] = new Array<ChatMessage>(n);
      for (let i = 0; i < n; i++) {
        const role = string();
        messages[i] = { role, content: string() };
      }
      yield { messages };
    } else throw new Error(`document buffer: unknown tag ${String(tag)} at byte ${at - 1}`);
  }
}
