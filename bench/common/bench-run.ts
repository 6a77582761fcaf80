/**
 * What every benchmark run has: a registry of the processes it starts, a scratch directory for
 * configs and logs, progress lines on stderr, and an end that leaves nothing behind. SIGINT or
 * SIGTERM ends every child and keeps the directory; a run that fails keeps it too, and says where.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildRegistry } from './children.js';

export interface BenchRun {
  readonly name: string;
  readonly registry: ChildRegistry;
  readonly baseDir: string;
  /** A progress line, to stderr: stdout is the report. */
  readonly log: (line: string) => void;
}

export function startBenchRun(name: string): BenchRun {
  const registry = new ChildRegistry();
  const baseDir = mkdtempSync(join(tmpdir(), `${name.replace(':', '-')}-`));
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`\n${signal}: ending every process started (logs stay in ${baseDir})`);
      registry.stopAll().finally(() => process.exit(130));
    });
  }
  return { name, registry, baseDir, log };
}

/** Runs `main`, then ends every child; the directory goes only when `main` succeeded. */
export async function completeBenchRun(run: BenchRun, main: () => Promise<void>): Promise<void> {
  try {
    await main();
    await run.registry.stopAll();
    rmSync(run.baseDir, { recursive: true, force: true });
  } catch (e) {
    run.log(`${run.name} failed: ${(e as Error).stack ?? String(e)}\nlogs and configs: ${run.baseDir}`);
    await run.registry.stopAll();
    process.exitCode = 1;
  }
}
