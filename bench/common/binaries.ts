/** The external programs the benchmarks run: where they are, and what version each says it is. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The executable `name` on PATH or in the sbin directories, where Debian puts haproxy and nginx.
 * @param install the command that installs it, for the error when it is missing
 */
export function findBinary(name: string, install: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory; try the next.
    }
  }
  throw new Error(`${name} is not installed: run ${install}`);
}

/** The first line `command args` prints, on stdout or stderr: a version banner. */
export function firstLine(command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0]!.trim();
}
