/**
 * Hot reload of the whole configuration: on a change of the --config file (watched) and on
 * SIGHUP, the file and the flags are read and validated again as at startup, then handed to
 * `apply`, which builds the new data plane and swaps it in (serve.ts; with --workers, every worker
 * thread). A file that does not parse or validate, or that `apply` refuses, changes nothing: the
 * running configuration keeps serving, and the refusal is logged with the file and the reason.
 * Settings that only a restart can change (restart-only.ts) keep their running values and are
 * named in a warning. Every attempt ends in one ReloadOutcome on `events`.
 *
 * Reloads run one at a time; triggers that come while one runs are folded into one more. The file
 * is watched through its directory, so that an editor's save-by-rename and a Kubernetes ConfigMap's
 * symlink swap are seen; events are debounced, and a file whose bytes did not change since the last
 * attempt is not reloaded (SIGHUP always reloads).
 */
import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ShardgateConfig } from './config.js';
import type { ReloadEvents, ReloadOutcome } from './reload-events.js';
import type { ReloadPlan } from './restart-only.js';
import { planReload } from './restart-only.js';

/** Where a running proxy reads its configuration again (hot reload). */
export interface ReloadSource {
  /** The --config file, as the user named it. */
  readonly file: string;
  /** Reads the file and lays the command line's flags over it, as at startup. */
  readonly load: () => Promise<ShardgateConfig>;
  /** Told of every reload's outcome; a new one by default. */
  readonly events?: ReloadEvents;
}

/** A ReloadSource with what serve adds: the outcomes' listener set and startup's zone resolution. */
export interface Reload extends ReloadSource {
  readonly events: ReloadEvents;
  readonly prepare: (next: ShardgateConfig) => Promise<ShardgateConfig>;
}

/** File events closer together than this are one change (an editor writes a file in steps). */
export const DEFAULT_DEBOUNCE_MS = 100;

export interface ReloaderOptions {
  /** The config file as the user named it: logs and outcomes name it so. */
  readonly file: string;
  /** Where a relative `file` is found. */
  readonly cwd?: string;
  /** The configuration running now, as apply() last took it. */
  readonly running: ShardgateConfig;
  /** Reads the file and lays the flags over it, as at startup; throws ConfigError to refuse. */
  readonly load: () => Promise<ShardgateConfig>;
  /** Resolves what startup resolves (the own zone); the identity by default. */
  readonly prepare?: (next: ShardgateConfig) => Promise<ShardgateConfig>;
  /** Swaps the plan's configuration in; throws to refuse it, having changed nothing. */
  readonly apply: (plan: ReloadPlan) => Promise<void>;
  readonly events: ReloadEvents;
  readonly logger: Logger;
  readonly debounceMs?: number;
  /** Wall-clock time for the outcomes; Date.now by default. */
  readonly now?: () => number;
}

export class ConfigReloader {
  readonly #o: ReloaderOptions;
  readonly #path: string;
  #running: ShardgateConfig;
  #chain: Promise<unknown> = Promise.resolve();
  #pending: Promise<ReloadOutcome> | null = null;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** The file's bytes at the last attempt (or at startup), to skip events that changed nothing. */
  #lastText: string | null = null;
  #closed = false;

  constructor(options: ReloaderOptions) {
    this.#o = options;
    this.#path = resolve(options.cwd ?? process.cwd(), options.file);
    this.#running = options.running;
  }

  /** The configuration in use. */
  get running(): ShardgateConfig {
    return this.#running;
  }

  /**
   * Reloads once the reload under way (if any) is over; a trigger while one already waits joins
   * it. Resolves to the outcome, never rejects.
   */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (this.#pending !== null) return this.#pending;
    const run = this.#chain.then(() => {
      this.#pending = null;
      return this.#reloadOnce(trigger);
    });
    this.#pending = run;
    this.#chain = run;
    return run;
  }

  /** Starts watching the file; changes reload it. Resolves once the watch is set up. */
  async watch(): Promise<void> {
    this.#lastText = await this.#read();
    if (this.#closed) return;
    const name = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, changed) => {
      // A ConfigMap swaps a `..data` symlink beside the file: any change in the folder may be it.
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      this.#schedule();
    });
    this.#watcher.on('error', (err: Error) => this.#o.logger.warn({ err, path: this.#o.file }, 'watching the config file failed; SIGHUP still reloads it'));
  }

  /** Stops watching. Idempotent; a reload under way finishes. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#changed();
    }, this.#o.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.#timer.unref();
  }

  async #changed(): Promise<void> {
    const text = await this.#read();
    if (this.#closed || text === this.#lastText) return;
    await this.reload('file change');
  }

  /** The file's text, or null when it cannot be read now (the load says why). */
  async #read(): Promise<string | null> {
    try {
      return await readFile(this.#path, 'utf8');
    } catch {
      // Mid-swap, or removed: the reload that follows reports it with the reason.
      return null;
    }
  }

  async #reloadOnce(trigger: string): Promise<ReloadOutcome> {
    const log = this.#o.logger;
    const now = this.#o.now ?? Date.now;
    const started = performance.now();
    let outcome: ReloadOutcome;
    try {
      this.#lastText = await this.#read();
      const loaded = await this.#o.load();
      const next = this.#o.prepare === undefined ? loaded : await this.#o.prepare(loaded);
      const plan = planReload(this.#running, next);
      await this.#o.apply(plan);
      this.#running = plan.config;
      outcome = { ok: true, path: this.#o.file, error: null, restartNeeded: plan.restartNeeded, atMs: now() };
      const tookMs = Math.round((performance.now() - started) * 10) / 10;
      if (plan.restartNeeded.length > 0) {
        log.warn({ path: this.#o.file, restartNeeded: plan.restartNeeded }, `config reload: ${plan.restartNeeded.join(', ')} changed, but take effect only on a restart; they keep their running values, the rest is applied`);
      }
      log.info({ path: this.#o.file, trigger, tookMs, balancer: plan.config.balancer.algorithm, key: plan.config.key }, 'config reloaded');
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      outcome = { ok: false, path: this.#o.file, error: reason, restartNeeded: [], atMs: now() };
      log.error({ path: this.#o.file, trigger, reason }, `config reload refused: ${reason}; the running configuration keeps serving`);
    }
    try {
      this.#o.events.emit(outcome);
    } catch (e) {
      log.error({ err: e }, 'a config reload listener failed');
    }
    return outcome;
  }
}
