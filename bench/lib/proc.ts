/**
 * CPU time and memory of processes, read from Linux /proc (the runners, mariadbd, the bench
 * itself). Parsers are pure and exported for the unit tests; readers return null off Linux or
 * when the process is gone, so a missing figure never breaks a run.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run). */
export const CLOCK_TICKS_PER_S = 100;

/** utime + stime (clock ticks) from the text of /proc/<pid>/stat; the comm field may hold spaces. */
export function parseStatCpuTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after "pid (comm) ": state is field 3, utime field 14, stime field 15.
  const rest = stat.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

/** A `Vm…:   1234 kB` field of /proc/<pid>/status, in kB. */
export function parseStatusKb(status: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m ? Number(m[1]) : null;
}

/**
 * Busy CPU seconds of the whole machine (all cores) from the text of /proc/stat: every field
 * of the aggregate `cpu` line except idle and iowait, in clock ticks → seconds.
 */
export function parseMachineBusySeconds(stat: string): number | null {
  const line = stat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 5 || v.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, , , irq = 0, softirq = 0, steal = 0] = v; // fields 4 and 5: idle, iowait
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S;
}

/** Busy CPU seconds of the whole machine so far (null off Linux). */
export function machineBusySeconds(): number | null {
  try {
    return parseMachineBusySeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number | null {
  try {
    const ticks = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return ticks === null ? null : ticks / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Resident and peak resident memory of a process, in MB. */
export function memoryMb(pid: number): { rssMb: number | null; hwmMb: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (f: string) => { const v = parseStatusKb(status, f); return v === null ? null : Math.round((v / 1024) * 10) / 10; };
    return { rssMb: kb('VmRSS'), hwmMb: kb('VmHWM') };
  } catch {
    return { rssMb: null, hwmMb: null };
  }
}

/** The pid of the first process whose comm is one of `names` (e.g. mariadbd), or null. */
export function findPidByName(names: readonly string[]): number | null {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) return Number(entry);
      } catch { /* went away */ }
    }
  } catch { /* no /proc */ }
  return null;
}
