/** Tiny argv helpers for the bench scripts (they run as processes, so they may read argv). */

/** The value after `--name` (or `--name=value`), or undefined. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** True when `--name` is present. */
export function argFlag(name: string, argv: readonly string[] = process.argv): boolean {
  return argv.includes(name);
}
