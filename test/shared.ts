/**
 * Locates `../shared` (the project's real test data). Tests that need it call `sharedPath()`;
 * under CI=true a missing folder is a failure, never a skip.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Root of the shared data: $TOKPACK_SHARED, else ../shared beside the project. */
export const sharedRoot: string = resolve(process.env["TOKPACK_SHARED"] ?? join(here, "..", "..", "shared"));

/** True when the shared data is present. Under CI it must be: throws otherwise. */
export function hasShared(): boolean {
  const ok = existsSync(join(sharedRoot, "data"));
  if (!ok && process.env["CI"] === "true") {
    throw new Error(`shared test data not found at ${sharedRoot} (set TOKPACK_SHARED); required under CI=true`);
  }
  return ok;
}

/** Absolute path of a file under shared/, failing loudly when it is missing. */
export function sharedPath(...parts: string[]): string {
  const p = join(sharedRoot, ...parts);
  if (!existsSync(p)) throw new Error(`shared test file missing: ${p} (set TOKPACK_SHARED to the shared/ folder)`);
  return p;
}
