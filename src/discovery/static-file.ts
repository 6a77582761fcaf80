/**
 * Endpoints from a YAML or JSON file, watched for changes: the file is listed (read), then watched,
 * and every change that yields a different valid list is published as a new set.
 *
 * The watch is on the file's directory, not the file: editors replace a file by renaming a new one
 * over it, which ends a watch on the old inode, and a mounted Kubernetes ConfigMap changes by
 * swapping its `..data` symlink, so the events name `..data`, not the file. Events are debounced,
 * since one save is often several events (truncate, write, rename). A slow poll backs
 * the watch up where events are lost or unsupported (network and overlay filesystems), and
 * re-creates the watch if it failed.
 *
 * A file that cannot be read, parsed or validated changes nothing: the last good set keeps
 * serving and the problem goes to `onError`, once per distinct problem. A save that leaves the
 * endpoints as they were (a comment, reordered entries) publishes nothing.
 *
 * Injected: timers (debounce and poll) and the directory watcher.
 */
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { sameLabels } from '../balancer/endpoint.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import { parseEndpointsText } from '../config/endpoints.js';
import { ConfigError } from '../errors.js';
import { DiscoveryError, statusOf } from './endpoint-source.js';
import { Subscribers } from './subscribers.js';
import type { EndpointSource, SourceStatus } from './endpoint-source.js';

export interface Timers {
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

/** Watches a directory; `onChange` gets the changed entry's name (null when the platform does not say). */
export type WatchDirectory = (dir: string, onChange: (filename: string | null) => void, onError: (error: Error) => void) => { close(): void };

export const fsWatchDirectory: WatchDirectory = (dir, onChange, onError) => {
  const w = watch(dir, { persistent: true }, (_event, filename) => onChange(filename));
  w.on('error', onError);
  return w;
};

export interface StaticFileSourceOptions {
  /** Quiet time after the last event before the file is read. */
  readonly debounceMs?: number;
  /** Interval of the fallback poll. */
  readonly pollMs?: number;
  readonly timers?: Timers;
  readonly watchDirectory?: WatchDirectory;
  /** How messages name the file; the path by default. */
  readonly label?: string;
}

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_POLL_MS = 5_000;

export class StaticFileSource implements EndpointSource {
  readonly path: string;
  readonly #label: string;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  readonly #timers: Timers;
  readonly #watchDirectory: WatchDirectory;
  readonly #listeners = new Subscribers(() => this.#start(), () => this.#stop());
  /** The last good set, kept across unsubscribe so that a later subscriber gets it at once. */
  #set: EndpointSet | null = null;
  /** The last text read, good or bad: the same text is not parsed (or reported) twice. */
  #text: string | null = null;
  #textGood = false;
  #lastError: string | null = null;
  /** Reported once while the watch keeps failing; the poll retries it silently. */
  #watchFailing = false;
  #watcher: { close(): void } | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  /** The read under way (with any reads queued behind it), or null. */
  #cycle: Promise<void> | null = null;
  #readAgain = false;

  constructor(path: string, options: StaticFileSourceOptions = {}) {
    this.path = path;
    this.#label = options.label ?? path;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#timers = options.timers ?? realTimers;
    this.#watchDirectory = options.watchDirectory ?? fsWatchDirectory;
  }

  /** The last good set, or null before the first. */
  get current(): EndpointSet | null {
    return this.#set;
  }

  status(): SourceStatus {
    return statusOf(this.#set, this.#lastError);
  }

  /**
   * Reads the file now, for a startup that should fail rather than serve nothing. The set read
   * here is the first one subscribers get; current subscribers get it too if it is new.
   * @throws ConfigError naming the file, the field and the value
   */
  async load(): Promise<EndpointSet> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      throw new ConfigError('SG_ERR_DISCOVERY', this.#label, `cannot be read (${errnoOf(e)}): give the path of a YAML or JSON list of endpoints`, { cause: e });
    }
    const set = parseEndpointsText(text, this.#label, (this.#set?.version ?? 0) + 1);
    this.#text = text;
    this.#textGood = true;
    this.#lastError = null;
    if (this.#set === null || !sameEndpoints(this.#set, set)) {
      this.#set = set;
      this.#listeners.publish(set);
    }
    return this.#set;
  }

  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void {
    return this.#listeners.add(onSet, onError, () => this.#set);
  }

  #start(): void {
    this.#startWatch();
    // List after the watch is in place, so a change between the two is not missed.
    void this.#reload();
    this.#armPoll();
  }

  #stop(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#debounce !== null) this.#timers.clearTimeout(this.#debounce);
    if (this.#poll !== null) this.#timers.clearTimeout(this.#poll);
    this.#debounce = null;
    this.#poll = null;
  }

  #startWatch(): void {
    const dir = dirname(this.path);
    const name = basename(this.path);
    try {
      this.#watcher = this.#watchDirectory(
        dir,
        (filename) => {
          if (filename === null || filename === name || filename.startsWith('..')) this.#kick();
        },
        (e) => {
          this.#watcher?.close();
          this.#watcher = null;
          this.#watchFailed(`${this.#label}: watching ${dir} failed (${errnoOf(e)}); polling every ${this.#pollMs} ms instead`, e);
        },
      );
      this.#watchFailing = false;
    } catch (e) {
      this.#watcher = null;
      // Possibly called from subscribe(): report later, never from inside it.
      setImmediate(() => this.#watchFailed(`${this.#label}: cannot watch ${dir} (${errnoOf(e)}); polling every ${this.#pollMs} ms instead`, e));
    }
  }

  #kick(): void {
    if (this.#debounce !== null) this.#timers.clearTimeout(this.#debounce);
    this.#debounce = this.#timers.setTimeout(() => {
      this.#debounce = null;
      void this.#reload();
    }, this.#debounceMs);
  }

  #armPoll(): void {
    this.#poll = this.#timers.setTimeout(() => {
      this.#poll = null;
      if (this.#listeners.size === 0) return;
      if (this.#watcher === null) this.#startWatch();
      void this.#reload().then(() => {
        if (this.#listeners.size > 0 && this.#poll === null) this.#armPoll();
      });
    }, this.#pollMs);
  }

  /**
   * Reads the file now, as a watch event would (for SIGHUP, or a caller that knows it changed).
   * Resolves once the read, and whatever it publishes or reports, is done. A no-op without
   * subscribers.
   */
  refresh(): Promise<void> {
    if (this.#listeners.size === 0) return Promise.resolve();
    return this.#reload();
  }

  /**
   * One read at a time; a trigger during a read causes one more read after it, and the returned
   * promise settles after that one. Never rejects.
   */
  #reload(): Promise<void> {
    if (this.#cycle !== null) {
      this.#readAgain = true;
      return this.#cycle;
    }
    const cycle = (async () => {
      try {
        do {
          this.#readAgain = false;
          await this.#readOnce();
        } while (this.#readAgain && this.#listeners.size > 0);
      } catch (e) {
        this.#report(`${this.#label}: ${e instanceof Error ? e.message : String(e)}`, e);
      } finally {
        this.#cycle = null;
      }
    })();
    this.#cycle = cycle;
    return cycle;
  }

  async #readOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      this.#report(`${this.#label}: cannot be read (${errnoOf(e)})`, e);
      return;
    }
    if (this.#listeners.size === 0) return;
    if (text === this.#text) {
      if (this.#textGood) this.#lastError = null;
      return;
    }
    this.#text = text;
    this.#textGood = false;
    let set: EndpointSet;
    try {
      set = parseEndpointsText(text, this.#label, (this.#set?.version ?? 0) + 1);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.#report(e.message, e);
      return;
    }
    this.#textGood = true;
    this.#lastError = null;
    if (this.#set !== null && sameEndpoints(this.#set, set)) return;
    this.#set = set;
    this.#listeners.publish(set);
  }

  #watchFailed(problem: string, cause: unknown): void {
    if (this.#watchFailing || this.#listeners.size === 0) return;
    this.#watchFailing = true;
    this.#emitError(new DiscoveryError(this.#label, problem, cause));
  }

  #report(problem: string, cause: unknown): void {
    if (problem === this.#lastError) return;
    this.#lastError = problem;
    const kept = this.#set;
    const message = kept === null ? `${problem}; no endpoints yet` : `${problem}; still serving the previous set (version ${kept.version}, ${kept.endpoints.length} endpoints)`;
    this.#emitError(new DiscoveryError(this.#label, message, cause));
  }

  #emitError(error: DiscoveryError): void {
    this.#listeners.report(error);
  }
}

/** True when two sets hold the same endpoints with the same settings (both are sorted by name). */
export function sameEndpoints(a: EndpointSet, b: EndpointSet): boolean {
  const x = a.endpoints;
  const y = b.endpoints;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p.name !== q.name || p.address !== q.address || p.weight !== q.weight || p.zone !== q.zone || p.node !== q.node || p.draining !== q.draining || !sameLabels(p.labels, q.labels)) return false;
  }
  return true;
}

function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}
