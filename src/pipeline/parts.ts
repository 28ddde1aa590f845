/**
 * A piece read by a worker comes back in parts of about {@link PART_TOKENS} ids, through a
 * `MessageChannel` of its own, with credit-based backpressure: the worker may be at most `credits`
 * parts ahead of the main thread, which grants one more credit (with a chunk buffer it is done with,
 * for the worker to write into) each time it has consumed a part. A piece's memory in flight is then
 * a few parts whatever its size; before this, a worker handed a whole piece back at once, and a
 * parquet row group of 122,880 documents is ~40 M ids (160 MB) in one buffer. The main thread also
 * starts packing a piece after its first part instead of after the whole piece.
 *
 * Parts and the task's own reply travel on different ports, which do not order messages between
 * them; the reply says how many parts came before it (`parts`), and the receiver waits for them.
 */
import type { MessagePort } from "node:worker_threads";
import type { LoaderStats } from "../../loaders/index.js";

/** Ids per part (≈ 2 MB): a 4 MiB JSONL piece is ~2 parts, a 10k-row group of 1.6 kB documents ~7. */
export const PART_TOKENS = 1 << 19;

/** Parts a worker may send ahead of the main thread. */
export const PART_CREDITS = 8;

/** One part of a piece: a chunk buffer and where its documents come from. */
export interface PiecePart {
  buffer: ArrayBuffer;
  /** Source file and shard of the part's documents (empty when it has none). */
  file: string;
  shard: number;
  /** Per document: its line (JSONL) or row (parquet, JSON array) number; kind says which. */
  at: Float64Array<ArrayBuffer>;
  atKind: "line" | "row" | "none";
}

/** The reply to a piece task: its last part, the piece's loader counters and how many parts came before. */
export interface PieceResult extends PiecePart {
  stats: LoaderStats;
  parts: number;
}

/** A credit from the main thread, maybe with a free chunk buffer. */
interface Credit {
  spare?: ArrayBuffer;
}

/** Worker side: sends parts as credits allow. */
export class PartSender {
  private credits: number;
  private wake: (() => void) | undefined;
  private closed = false;
  /** Parts sent so far. */
  sent = 0;

  constructor(
    private readonly port: MessagePort,
    credits: number,
    onSpare: (b: ArrayBuffer) => void,
  ) {
    this.credits = credits;
    port.on("message", (m: Credit) => {
      if (m.spare !== undefined) onSpare(m.spare);
      this.credits++;
      this.wake?.();
    });
    port.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /** Send `part` (its buffers are moved) once a credit is there. */
  async send(part: PiecePart): Promise<void> {
    while (this.credits === 0) {
      if (this.closed) throw new Error("the pipeline stopped reading this piece");
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    this.credits--;
    this.port.postMessage(part, [part.buffer, part.at.buffer]);
    this.sent++;
  }

  close(): void {
    this.port.close();
  }
}

/** Main-thread side: the parts of one piece in order, then its reply's last part. */
export class PartReceiver {
  private readonly queue: PiecePart[] = [];
  private wake: (() => void) | undefined;
  private reply: PieceResult | undefined;
  private failed: { error: unknown } | undefined;
  private handedOut = 0;
  private finished = false;

  constructor(
    private readonly port: MessagePort,
    result: Promise<PieceResult>,
  ) {
    port.on("message", (p: PiecePart) => {
      this.queue.push(p);
      this.wake?.();
    });
    port.unref(); // after on("message"), which refs it: the task keeps the process alive while it runs
    result.then(
      (r) => {
        this.reply = r;
        this.wake?.();
      },
      (error: unknown) => {
        this.failed = { error };
        this.wake?.();
      },
    );
  }

  /**
   * The next part, or the reply (whose stats come with it: `last`) after every part before it;
   * undefined after that. Call it once the previous part is consumed: that grants the worker a credit,
   * with a buffer from `spare` (when it has one) to write into.
   */
  async next(spare: () => ArrayBuffer | undefined): Promise<{ part: PiecePart; last: PieceResult | undefined } | undefined> {
    if (this.finished) return undefined;
    if (this.handedOut > 0) {
      const b = spare();
      this.port.postMessage(b === undefined ? {} : { spare: b }, b === undefined ? [] : [b]);
    }
    for (;;) {
      const p = this.queue.shift();
      if (p !== undefined) {
        this.handedOut++;
        return { part: p, last: undefined };
      }
      if (this.failed !== undefined) {
        this.close();
        throw this.failed.error;
      }
      const r = this.reply;
      if (r !== undefined && this.handedOut >= r.parts) {
        this.close();
        return { part: r, last: r };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** Stop listening (the worker's next wait for a credit then fails). */
  close(): void {
    this.finished = true;
    this.port.close();
  }
}
