import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
export const CLOCK_TICKS: number = readClockTicks();

function readClockTicks(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/**
 * CPU time a process has used so far, user plus system, in microseconds.
 * /proc/<pid>/stat sums every thread of the process, so libuv's pool (TLS,
 * WebCrypto) and SQLite's work count too.
 */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces; the
  // fields after its closing parenthesis start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}

/** A `Vm*` line of /proc/<pid>/status in bytes (the file states kB). */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** A line of /proc/<pid>/status as text, e.g. Cpus_allowed_list, to show pinning took. */
export function statusText(pid: number, field: string): string | undefined {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim();
}

/**
 * Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so each
 * scenario's peak is its own. Writing 5 to clear_refs does this since Linux
 * 4.0; false when it is not allowed, and callers fall back to sampling.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Polls VmRSS, for peaks within a window when VmHWM cannot be reset, and for growth. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #max = 0;

  constructor(pid: number, intervalMs = 50) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling; returns the largest RSS seen, in bytes. */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.#max;
  }

  #sample(): void {
    try {
      this.#max = Math.max(this.#max, statusBytes(this.#pid, 'VmRSS'));
    } catch {
      // The process may have exited; the peak so far stands.
    }
  }
}
