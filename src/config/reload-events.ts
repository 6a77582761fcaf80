/**
 * What became of each attempt to reload the configuration (on a change of the --config file, or
 * SIGHUP): applied, or refused with the reason while the previous configuration keeps serving.
 * The reloader emits one outcome per attempt; the metrics count them
 * (`shardgate_config_reloads_total{result}`, `shardgate_config_last_reload_success_timestamp_seconds`).
 *
 * Listeners are called synchronously, in the order they were added, from emit(); a listener that
 * throws does not keep the others from hearing of the outcome (emit rethrows the first failure
 * after all of them).
 */

export interface ReloadOutcome {
  /** The new configuration is in use. */
  ok: boolean;
  /** The config file that was read, as the user named it. */
  path: string;
  /** Why it was refused (the file and field, the value and what is allowed); null when ok. */
  error: string | null;
  /** Settings that changed but apply only on a restart (`listen`, `workers`...); the rest was applied. */
  restartNeeded: string[];
  /** Wall-clock time of the outcome, in ms since the epoch. */
  atMs: number;
}

export class ReloadEvents {
  /** Reloads applied so far. */
  ok = 0;
  /** Reloads refused so far. */
  failed = 0;
  /** The latest outcome, or null before the first reload. */
  last: ReloadOutcome | null = null;
  readonly #listeners: ((o: ReloadOutcome) => void)[] = [];

  /** Hears of every outcome from now on. Returns the function that stops it. */
  on(listener: (o: ReloadOutcome) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Counts the outcome, keeps it as `last`, then tells every listener. */
  emit(o: ReloadOutcome): void {
    if (o.ok) this.ok++;
    else this.failed++;
    this.last = o;
    let failure: Error | null = null;
    for (const l of [...this.#listeners]) {
      try {
        l(o);
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    // Rethrown once every listener has heard: the first failure, not swallowed.
    if (failure !== null) throw failure;
  }
}
