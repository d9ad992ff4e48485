import { readFileSync } from 'node:fs';

/**
 * CPU time of the calling thread in milliseconds: the first field of Linux's
 * `/proc/thread-self/schedstat` (nanoseconds on a CPU; proc(5)). Node 20 has no per-thread CPU
 * clock (`process.cpuUsage()` sums every thread), so benchmarks that split CPU between the main
 * thread and worker threads read this. `undefined` where the file does not exist (not Linux, or
 * a kernel without schedstats).
 */
export function threadCpuMs(): number | undefined {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ', 1)[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
