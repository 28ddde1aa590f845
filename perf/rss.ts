/** Peak memory of a benchmark's child process. */
import { readFileSync } from "node:fs";

/**
 * Peak RSS of this process (all its threads) in MB. Linux's VmHWM belongs to the current address
 * space; getrusage's maxRSS would also count the parent's peak (it survives fork + exec), which for
 * the benchmarks' children includes the parent's duckdb or corpora.
 */
export function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}
