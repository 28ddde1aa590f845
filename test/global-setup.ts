/**
 * Test-run setup: the on-disk tokenizer table cache goes to a fresh temporary directory (removed
 * afterwards), so tests neither read entries left by other builds nor fill the user's cache.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "tokpack-test-tables-"));
  process.env["TOKPACK_CACHE_DIR"] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
