/**
 * Runs wrk or h2load against a target, as a child the registry can end, and parses what it
 * printed. The scripts wrk needs are written once into the run's directory.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildRegistry } from '../common/children.js';
import { commandLine } from '../common/children.js';
import { h2loadArgs, h2loadResult } from './h2load.js';
import type { LoadResult } from './load-result.js';
import type { LoadShape } from './scenario.js';
import { KEY_COUNT, KEY_HEADER } from './scenario.js';
import { keyedScript, parseWrkOutput, reportScript, wrkArgs } from './wrk.js';

export interface Generate {
  readonly shape: LoadShape;
  readonly port: number;
  readonly durationS: number;
  /** A different key on every request (hashing mode), or none. */
  readonly keyed: boolean;
  /** Extra request headers, `name: value` (the hot key). */
  readonly headers?: readonly string[];
}

export class LoadGenerator {
  readonly #registry: ChildRegistry;
  readonly #dir: string;
  readonly #reportScript: string;
  readonly #keyedScript: string;
  #runs = 0;

  constructor(registry: ChildRegistry, dir: string) {
    this.#registry = registry;
    this.#dir = dir;
    this.#reportScript = join(dir, 'report.lua');
    this.#keyedScript = join(dir, 'keyed.lua');
    writeFileSync(this.#reportScript, reportScript());
    writeFileSync(this.#keyedScript, keyedScript(KEY_HEADER, KEY_COUNT));
  }

  /** The command line `run` starts, for the report. */
  commandLine(g: Generate): string {
    const [cmd, args] = this.#command(g, join(this.#dir, 'h2load-N.log'));
    return commandLine(cmd, args);
  }

  async run(g: Generate): Promise<LoadResult> {
    const n = ++this.#runs;
    const out = join(this.#dir, `load-${n}.out`);
    const log = join(this.#dir, `h2load-${n}.log`);
    const [cmd, args] = this.#command(g, log);
    const child = this.#registry.spawn(`${cmd} #${n}`, cmd, args, out);
    const code = await child.exited;
    const stdout = readFileSync(out, 'utf8');
    if (code !== 0) throw new Error(`${cmd} exited ${code}: ${commandLine(cmd, args)}\n${stdout.slice(-2000)}`);
    if (cmd === 'wrk') return parseWrkOutput(stdout);
    const result = h2loadResult(stdout, readFileSync(log, 'utf8'));
    // A line per request: hundreds of thousands per run, read once.
    rmSync(log);
    return result;
  }

  #command(g: Generate, logFile: string): [string, string[]] {
    const url = `http://127.0.0.1:${g.port}/`;
    if (g.shape.protocol === 'h2c') {
      if (g.keyed) throw new Error('h2load sends the same headers on every request: it cannot give each request its own key');
      return ['h2load', h2loadArgs({ url, connections: g.shape.connections, streams: g.shape.streams, durationS: g.durationS, logFile, headers: g.headers })];
    }
    // One wrk thread: it keeps 64 connections busy with a core to spare for the proxy and pods.
    return ['wrk', wrkArgs({ url, connections: g.shape.connections, threads: 1, durationS: g.durationS, scriptPath: g.keyed ? this.#keyedScript : this.#reportScript, headers: g.headers })];
  }
}
