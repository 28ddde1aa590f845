/**
 * The CLI's one flag parser: a thin layer over `node:util` `parseArgs` that turns its errors into
 * `UsageError`s (exit status 2) and checks the positional count, so each subcommand only declares
 * its options.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";

/** One option as `parseArgs` takes it. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
}

/** Parsed flags (string or boolean values, absent when not given) and the positional arguments. */
export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parse `argv` (the arguments after the subcommand name) against `options`. Unknown flags, a missing
 * flag value and more than `maxPositionals` positionals are `UsageError`s naming the subcommand.
 */
export function parseFlags(
  command: string,
  argv: readonly string[],
  options: Record<string, FlagSpec>,
  maxPositionals: number,
): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, "")}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => JSON.stringify(p));
    throw new UsageError(`${command}: unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(" ")}`);
  }
  return { flags: parsed.values as ParsedArgs["flags"], positionals: parsed.positionals };
}

/** The value of a string flag, or a `UsageError` when it is required and missing. */
export function stringFlag(command: string, args: ParsedArgs, name: string, required: true): string;
export function stringFlag(command: string, args: ParsedArgs, name: string, required?: false): string | undefined;
export function stringFlag(command: string, args: ParsedArgs, name: string, required = false): string | undefined {
  const v = args.flags[name];
  if (typeof v === "string") {
    if (v === "") throw new UsageError(`${command}: --${name} needs a non-empty value`);
    return v;
  }
  if (required) throw new UsageError(`${command}: --${name} is required`);
  return undefined;
}

/** True when a boolean flag was given. */
export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** An integer flag ≥ `min`, or undefined when absent; anything else is a `UsageError`. */
export function intFlag(command: string, args: ParsedArgs, name: string, min: number): number | undefined {
  const v = stringFlag(command, args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}
