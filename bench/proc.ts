/** Reads from /proc (Linux): a process's peak RSS and CPU time, a core's busy time. */
import { readFileSync } from 'node:fs';

/** Peak resident set size in bytes (`VmHWM`), or undefined where /proc is missing. */
export function peakRssBytes(pid: number): number | undefined {
  const status = readOrUndefined(`/proc/${pid}/status`);
  const match = status?.match(/^VmHWM:\s+(\d+)\s+kB$/m);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** user + system CPU time of a process, in clock ticks. */
export function processCpuTicks(pid: number): number | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy and total ticks of one core since boot, from /proc/stat. */
export function coreTicks(core: number): { busy: number; total: number } | undefined {
  const stat = readOrUndefined('/proc/stat');
  const line = stat?.split('\n').find((candidate) => candidate.startsWith(`cpu${core} `));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
