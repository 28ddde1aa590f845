/**
 * Nested text columns of parquet streamed a row at a time: chat datasets' `messages:
 * list<struct<role, content>>`, ShareGPT's `conversations: list<struct<from, value>>`, lists of
 * strings. Each leaf (`messages.list.element.content`) is read page by page as a flat text column
 * is (`parquet-text.ts`), with its repetition and definition levels; a row's entries of every leaf
 * are gathered (a row ends where a leaf's next entry has repetition level 0) and assembled into the
 * row's value: arrays for lists, objects for structs, and for each leaf value a string (text
 * leaves), its bytes (copied: binary leaves, and text that is not valid UTF-8, which the document
 * maker reports with the row) or null.
 *
 * Streamed: a top-level column made of structs, lists (LIST-annotated, in the standard three-level
 * layout or the legacy two-level one, and bare repeated fields) and text leaves streamable by
 * `parquet-text.ts`. Maps, and a column with any other leaf, are read whole by `readParquetRows`.
 */
import type { FileMetaData, SchemaTree } from "hyparquet";
import { InputFormatError } from "../src/errors.js";
import { topLevelColumn } from "./parquet.js";
import { afterAllOf, ChunkPages, chunksIn, columnState, corrupt, readAfter, streamableLeaf, type ChunkIn, type ColumnState, type DataPage } from "./parquet-text.js";
import type { ByteSource } from "./types.js";

/** One leaf of a nested column: its path in the schema, its highest levels, whether it is annotated as text. */
export interface Leaf {
  path: string[];
  maxRep: number;
  maxDef: number;
  text: boolean;
}

/**
 * How a row's value is assembled from its leaves' entries. `nullDef` is the definition level at which
 * the node is present (-1 when it cannot be null); `leaves` are the indices of the leaves under it.
 */
export type Shape =
  | { kind: "leaf"; leaf: number }
  | { kind: "struct"; nullDef: number; fields: [string, Shape][]; leaves: number[] }
  | { kind: "list"; nullDef: number; emptyDef: number; rep: number; element: Shape; leaves: number[] };

/** A nested column that {@link readNestedColumn} streams. */
export interface NestedColumn {
  name: string;
  shape: Shape;
  leaves: Leaf[];
}

function annotated(tree: SchemaTree, type: string): boolean {
  return tree.element.converted_type === type || tree.element.logical_type?.type === type;
}

/** Builds the shapes of a column's nodes, collecting its leaves; undefined when a node is not streamed. */
class ShapeBuilder {
  readonly leaves: Leaf[] = [];

  constructor(
    private readonly accept: (path: readonly string[], tree: SchemaTree) => boolean,
    /** The only struct fields read (all when undefined): the others are left out, never read. */
    private readonly keep?: ReadonlySet<string>,
  ) {}

  /** The shape of `tree`, whose parent is at definition level `def` and repetition level `rep`. */
  node(tree: SchemaTree, def: number, rep: number): Shape | undefined {
    const how = tree.element.repetition_type;
    // a repeated field outside a LIST annotation: a list (never null) of required items
    if (how === "REPEATED") return this.list(-1, def, rep, () => this.item(tree, -1, def + 1, rep + 1));
    const d = how === "OPTIONAL" ? def + 1 : def;
    const nullDef = how === "OPTIONAL" ? d : -1;
    if (annotated(tree, "MAP") || annotated(tree, "MAP_KEY_VALUE")) return undefined;
    if (!annotated(tree, "LIST")) return this.item(tree, nullDef, d, rep);
    const repeated = tree.children[0];
    if (tree.children.length !== 1 || repeated?.element.repetition_type !== "REPEATED") return undefined;
    // the legacy two-level layout repeats the item itself (see the format's LogicalTypes.md, "Lists")
    const twoLevel = repeated.children.length !== 1 || repeated.element.name === "array" || repeated.element.name === `${tree.element.name}_tuple`;
    return this.list(nullDef, d, rep, () => (twoLevel ? this.item(repeated, -1, d + 1, rep + 1) : this.node(repeated.children[0]!, d + 1, rep + 1)));
  }

  private list(nullDef: number, def: number, rep: number, element: () => Shape | undefined): Shape | undefined {
    const first = this.leaves.length;
    const el = element();
    return el === undefined ? undefined : { kind: "list", nullDef, emptyDef: def + 1, rep: rep + 1, element: el, leaves: range(first, this.leaves.length) };
  }

  /** A struct or leaf at definition level `def` (its own counted). */
  private item(tree: SchemaTree, nullDef: number, def: number, rep: number): Shape | undefined {
    if (tree.children.length === 0) {
      if (!this.accept(tree.path, tree)) return undefined;
      const text = annotated(tree, "UTF8") || annotated(tree, "STRING");
      this.leaves.push({ path: tree.path, maxRep: rep, maxDef: def, text });
      return { kind: "leaf", leaf: this.leaves.length - 1 };
    }
    const first = this.leaves.length;
    const fields: [string, Shape][] = [];
    for (const child of tree.children) {
      if (this.keep !== undefined && !this.keep.has(child.element.name)) continue;
      const s = this.node(child, def, rep);
      if (s === undefined) return undefined;
      fields.push([child.element.name, s]);
    }
    // a struct is located by its leaves: one left with none cannot be read
    return this.leaves.length === first ? undefined : { kind: "struct", nullDef, fields, leaves: range(first, this.leaves.length) };
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/**
 * Column `name` when it is nested (a list or struct) and every leaf under it is streamable text.
 * With `keep`, only struct fields named in it are read (and must be streamable): the others are left
 * out of the rows, never read — a chat turn's `weight` beside `from` and `value`, or an image beside
 * a content part's `text`.
 */
export function streamableNestedColumn(md: FileMetaData, rowStart: number, rowEnd: number, name: string, keep?: ReadonlySet<string>): NestedColumn | undefined {
  const tree = topLevelColumn(md, name);
  if (tree === undefined || (tree.children.length === 0 && tree.element.repetition_type !== "REPEATED")) return undefined;
  const b = new ShapeBuilder((path, leaf) => streamableLeaf(md, rowStart, rowEnd, path, leaf.element), keep);
  const shape = b.node(tree, 0, 0);
  return shape === undefined ? undefined : { name, shape, leaves: b.leaves };
}

/** A leaf's value as the row holds it. */
type LeafValue = string | Uint8Array | null;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A text leaf's value as a string; its bytes, copied, when they are not UTF-8. */
function textValue(v: Uint8Array): string | Uint8Array {
  try {
    return utf8.decode(v);
  } catch {
    return v.slice();
  }
}

/** One row's entries of one leaf: levels and values, reused from row to row. */
class LeafRow {
  reps: Int32Array = new Int32Array(16);
  defs: Int32Array = new Int32Array(16);
  values: LeafValue[] = [];
  length = 0;

  push(rep: number, def: number, v: LeafValue): void {
    if (this.length === this.reps.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(2 * a.length);
        b.set(a);
        return b;
      };
      this.reps = grow(this.reps);
      this.defs = grow(this.defs);
    }
    this.reps[this.length] = rep;
    this.defs[this.length] = def;
    this.values[this.length++] = v;
  }

  clear(): void {
    this.values.length = this.length = 0;
  }
}

/** The entries of one leaf over rows `[rowStart, rowEnd)`, a row at a time. */
class LeafStream {
  private readonly chunks: ChunkIn[];
  private readonly col: ColumnState;
  private readonly field: string;
  private c = -1;
  private pages: ChunkPages | undefined;
  private page: DataPage | undefined;
  /** The current page's next entry and its entry count. */
  private i = 0;
  private n = 0;
  /** Rows of the current chunk not begun yet. */
  private left = 0;
  /** The row the next {@link nextRow} reads, and rows to read past before the first one returned. */
  private row: number;
  private toSkip: number;

  constructor(
    private readonly src: ByteSource,
    md: FileMetaData,
    rowStart: number,
    rowEnd: number,
    private readonly leaf: Leaf,
    private readonly onAllRead: (() => void) | undefined,
  ) {
    this.chunks = chunksIn(md, rowStart, rowEnd, leaf.path);
    this.col = columnState(leaf.maxRep, leaf.maxDef);
    this.field = leaf.path.join(".");
    this.row = this.chunks[0]?.first ?? rowStart;
    this.toSkip = rowStart - this.row;
  }

  /** Reads the next row's entries into `out`. */
  async nextRow(out: LeafRow): Promise<void> {
    for (; this.toSkip > 0; this.toSkip--) await this.readRow(undefined);
    out.clear();
    await this.readRow(out);
  }

  private async readRow(out: LeafRow | undefined): Promise<void> {
    if (this.left === 0) this.openChunk();
    if (!(this.i < this.n || (await this.loadPage()))) {
      const { first, rows } = this.chunks[this.c]!;
      throw corrupt(this.src, this.row, this.field, new Error(`column chunk ends after ${this.row - first} of its ${rows} rows`));
    }
    this.left--;
    const { maxDef, text } = this.leaf;
    let first = true;
    do {
      const page = this.page!;
      const rep = page.reps === undefined ? 0 : page.reps[this.i]!;
      if (first && rep !== 0) throw corrupt(this.src, this.row, this.field, new Error(`a row starts at repetition level ${rep}, expected 0`));
      first = false;
      const def = page.defs === undefined ? maxDef : page.defs[this.i]!;
      let v: Uint8Array | null = null;
      let value: LeafValue = null;
      if (def === maxDef) {
        try {
          v = page.read();
        } catch (err) {
          v = await readAfter(page, err, (e) => corrupt(this.src, this.row, this.field, e));
        }
        // the view is valid until the next read
        if (out !== undefined) value = text ? textValue(v) : v.slice();
      }
      out?.push(rep, def, value);
      this.i++;
      // a row goes on while the leaf's next entry repeats something in it (level > 0)
    } while (this.leaf.maxRep > 0 && (this.i < this.n || (await this.loadPage())) && this.page!.reps![this.i] !== 0);
    this.row++;
  }

  private openChunk(): void {
    if (this.i < this.n || (this.pages !== undefined && !this.pages.done)) {
      const { first, rows } = this.chunks[this.c]!;
      throw corrupt(this.src, this.row, this.field, new Error(`column chunk holds more than the ${rows} rows of its row group at row ${first}`));
    }
    this.closePage();
    const next = this.chunks[++this.c];
    if (next === undefined) throw new InputFormatError(`column "${this.field}" has no rows past row ${this.row}: corrupt file`, { file: this.src.name, row: this.row, field: this.field });
    const { meta, first, rows } = next;
    if (meta === undefined) throw new InputFormatError(`row group at row ${first} has no column chunk "${this.field}"`, { file: this.src.name, row: first, field: this.field });
    this.pages = new ChunkPages(this.src, meta, this.c === this.chunks.length - 1 ? this.onAllRead : undefined, this.col);
    this.row = first;
    this.left = rows;
  }

  /** Opens the chunk's next data page; false when the chunk has none left. */
  private async loadPage(): Promise<boolean> {
    const pages = this.pages!;
    while (this.i >= this.n) {
      this.closePage();
      if (pages.done) return false;
      try {
        const next = await pages.next(() => false);
        if (next !== undefined) {
          this.page = next.page;
          this.n = next.entries;
        }
      } catch (err) {
        throw corrupt(this.src, this.row, this.field, err);
      }
    }
    return true;
  }

  private closePage(): void {
    this.page?.close();
    this.page = undefined;
    this.i = this.n = 0;
  }

  close(): void {
    this.closePage();
    this.col.decoder.close();
  }
}

/** Assembles a row's value from its leaves' entries, moving each leaf's cursor `at[k]` past what it used. */
function assemble(shape: Shape, rows: readonly LeafRow[], leaves: readonly Leaf[], at: Int32Array): unknown {
  switch (shape.kind) {
    case "leaf": {
      const k = shape.leaf;
      const e = entry(rows, leaves, at, k);
      at[k] = e + 1;
      return rows[k]!.values[e] ?? null;
    }
    case "struct": {
      if (shape.nullDef >= 0 && rows[shape.leaves[0]!]!.defs[entry(rows, leaves, at, shape.leaves[0]!)]! < shape.nullDef) return skipOne(shape.leaves, rows, leaves, at, null);
      const out: Record<string, unknown> = {};
      for (const [name, s] of shape.fields) out[name] = assemble(s, rows, leaves, at);
      return out;
    }
    case "list": {
      const k = shape.leaves[0]!;
      const def = rows[k]!.defs[entry(rows, leaves, at, k)]!;
      if (def < shape.nullDef) return skipOne(shape.leaves, rows, leaves, at, null);
      if (def < shape.emptyDef) return skipOne(shape.leaves, rows, leaves, at, []);
      const out: unknown[] = [];
      do out.push(assemble(shape.element, rows, leaves, at));
      while (at[k]! < rows[k]!.length && rows[k]!.reps[at[k]!] === shape.rep);
      return out;
    }
  }
}

/** Leaf k's next entry, which must exist. */
function entry(rows: readonly LeafRow[], leaves: readonly Leaf[], at: Int32Array, k: number): number {
  if (at[k]! >= rows[k]!.length) throw new Error(`leaf "${leaves[k]!.path.join(".")}" has fewer entries than its siblings`);
  return at[k]!;
}

/** Steps each of `under` past one entry (a null or empty node has one in every leaf under it), giving `value`. */
function skipOne<T>(under: readonly number[], rows: readonly LeafRow[], leaves: readonly Leaf[], at: Int32Array, value: T): T {
  for (const k of under) at[k] = entry(rows, leaves, at, k) + 1;
  return value;
}

/**
 * The values of a nested `column` (see {@link streamableNestedColumn}) for rows `[rowStart, rowEnd)`,
 * one per row in order. `onAllRead` is called once every leaf's last byte is read. Errors name the
 * file, the row and the leaf.
 */
export async function* readNestedColumn(src: ByteSource, md: FileMetaData, rowStart: number, rowEnd: number, column: NestedColumn, onAllRead?: () => void): AsyncGenerator<unknown, void, undefined> {
  const { leaves, shape } = column;
  const allRead = afterAllOf(leaves.length, onAllRead);
  const streams = leaves.map((l) => new LeafStream(src, md, rowStart, rowEnd, l, allRead));
  const rows = leaves.map(() => new LeafRow());
  const at = new Int32Array(leaves.length);
  try {
    for (let row = rowStart; row < rowEnd; row++) {
      for (let k = 0; k < streams.length; k++) await streams[k]!.nextRow(rows[k]!);
      at.fill(0);
      let v: unknown;
      try {
        v = assemble(shape, rows, leaves, at);
        for (let k = 0; k < leaves.length; k++) if (at[k] !== rows[k]!.length) throw new Error(`leaf "${leaves[k]!.path.join(".")}" has ${rows[k]!.length - at[k]!} entries more than its siblings`);
      } catch (err) {
        throw corrupt(src, row, column.name, err);
      }
      yield v;
    }
  } finally {
    for (const s of streams) s.close();
  }
}
