import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceError } from "../../src/errors.js";
import { globToRegExp, resolveSources } from "../../loaders/index.js";
import { tempDir, writeZip } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
  const d = tmp.dir;
  mkdirSync(join(d, "data/sub"), { recursive: true });
  for (const f of ["data/train-0.jsonl", "data/train-1.jsonl.gz", "data/sub/train-2.parquet", "data/notes.txt", "data/val.json"]) writeFileSync(join(d, f), "");
  writeZip(join(d, "a.zip"), [{ name: "x/one.jsonl", data: Buffer.from('{"text":"z"}\n') }]);
  writeFileSync(join(d, "list.manifest"), "# training files\ndata/train-0.jsonl\n\nzip:a.zip!/x/*.jsonl\n");
  writeFileSync(join(d, "list.manifest.json"), JSON.stringify(["data/sub/train-2.parquet", "data/train-0.jsonl"]));
});
afterAll(() => tmp.cleanup());

const names = async (specs: string[]) => (await resolveSources(specs)).map((f) => f.name.replace(tmp.dir + "/", "").replace(`zip:${tmp.dir}/`, "zip:"));

describe("resolveSources", () => {
  it("directories (known formats only, sorted), globs with ** and de-duplication", async () => {
    expect(await names([join(tmp.dir, "data")])).toEqual(["data/sub/train-2.parquet", "data/train-0.jsonl", "data/train-1.jsonl.gz", "data/val.json"]);
    expect(await names([join(tmp.dir, "data/train-*")])).toEqual(["data/train-0.jsonl", "data/train-1.jsonl.gz"]);
    expect(await names([join(tmp.dir, "data/**/train-*"), join(tmp.dir, "data/train-0.jsonl")])).toEqual(["data/sub/train-2.parquet", "data/train-0.jsonl", "data/train-1.jsonl.gz"]);
  });

  it("manifests (text and JSON) resolve relative to their folder, zip entries included", async () => {
    expect(await names([join(tmp.dir, "list.manifest")])).toEqual(["data/train-0.jsonl", "zip:a.zip!/x/one.jsonl"]);
    expect(await names([join(tmp.dir, "list.manifest.json")])).toEqual(["data/sub/train-2.parquet", "data/train-0.jsonl"]);
  });

  it("formats and codecs come from the names; empty globs and unknown formats are SourceErrors", async () => {
    const files = await resolveSources([join(tmp.dir, "data")]);
    expect(files.map((f) => [f.format, f.codec])).toEqual([["parquet", "none"], ["jsonl", "none"], ["jsonl", "gzip"], ["json", "none"]]);
    await expect(resolveSources([join(tmp.dir, "data/*.csv")])).rejects.toBeInstanceOf(SourceError);
    await expect(resolveSources([join(tmp.dir, "data/notes.txt")])).rejects.toThrow(/unknown format/);
  });

  it("glob syntax", () => {
    expect(globToRegExp("a/**/b-*.jsonl").test("a/x/y/b-1.jsonl")).toBe(true);
    expect(globToRegExp("a/**/b-*.jsonl").test("a/b-1.jsonl")).toBe(true);
    expect(globToRegExp("a/*.jsonl").test("a/x/b.jsonl")).toBe(false);
    expect(globToRegExp("part-[0-3].parquet").test("part-2.parquet")).toBe(true);
    expect(globToRegExp("part-[!0-3].parquet").test("part-2.parquet")).toBe(false);
  });
});
