/**
 * CPU time and memory of processes, read from Linux /proc (the runners, mariadbd, the bench
 * itself). Parsers are pure and exported for the unit tests; readers return null off Linux or
 * when the process is gone, so a missing figure never breaks a run.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

/** Inodes of the sockets listening on TCP `port`, from the text of /proc/net/tcp or tcp6. */
export function parseListenInodes(netTcp: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const line of netTcp.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') out.push(f[9]);
  }
  return out;
}

/**
 * The pid of the server listening on TCP `port` (several mariadbd may run on one machine):
 * a process named one of `names` holding the listening socket; null when none is visible.
 */
export function findServerPidByPort(port: number, names: readonly string[]): number | null {
  let inodes: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try { inodes = inodes.concat(parseListenInodes(readFileSync(f, 'utf8'), port)); } catch { /* no such table */ }
  }
  if (inodes.length === 0) return null;
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) continue;
        for (const fd of readdirSync(`/proc/${entry}/fd`)) {
          try { if (wanted.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry); } catch { /* closed */ }
        }
      } catch { /* went away, or not ours to read */ }
    }
  } catch { /* no /proc */ }
  return null;
}
