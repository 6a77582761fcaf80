/**
 * The generations of ownership one process has seen: each endpoint set it applied, numbered from
 * 1, as an Assignment; the last KEPT_GENERATIONS of them, so that a key can be asked about at an
 * earlier one; and the one a planned hand-off has announced and not yet applied (pending), which
 * becomes the next generation when its set applies. The directory and a pod's ownership helper
 * each keep one, fed by their plane's sets and their source's announcements, and tell their
 * listeners of every change.
 *
 * Synchronous: listeners are called from inside `applied` and `announced`.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import type { KeyedConfig } from '../balancer/factory.js';
import type { PlannedChange } from '../discovery/planned-handoff.js';
import { Assignment } from './assignment.js';

/** Generations kept besides a pending one. */
export const KEPT_GENERATIONS = 4;

export interface Pending {
  readonly assignment: Assignment;
  readonly change: PlannedChange;
}

export interface GenerationChange {
  /** Null for the first set. */
  readonly previous: Assignment | null;
  readonly next: Assignment;
  /** It was announced first (the pending generation applied). */
  readonly planned: boolean;
}

export interface GenerationAnnouncement {
  readonly current: Assignment;
  readonly next: Assignment;
  readonly change: PlannedChange;
}

export class Generations {
  readonly config: KeyedConfig;
  readonly #kept: Assignment[] = [];
  readonly #changeListeners: ((c: GenerationChange) => void)[] = [];
  readonly #announceListeners: ((a: GenerationAnnouncement) => void)[] = [];
  #pending: Pending | null = null;
  #count = 0;

  constructor(config: KeyedConfig) {
    this.config = config;
  }

  /** The generation routed by now, or null before the first set. */
  get current(): Assignment | null {
    return this.#kept.at(-1) ?? null;
  }

  get pending(): Pending | null {
    return this.#pending;
  }

  /** A kept generation or the pending one; null when it is neither. */
  at(generation: number): Assignment | null {
    if (this.#pending?.assignment.generation === generation) return this.#pending.assignment;
    return this.#kept.find((a) => a.generation === generation) ?? null;
  }

  /** The generations `at` answers for, oldest first. */
  available(): number[] {
    const all = this.#kept.map((a) => a.generation);
    if (this.#pending !== null) all.push(this.#pending.assignment.generation);
    return all;
  }

  /** A set was applied (routers use it from now on). */
  applied(set: EndpointSet): GenerationChange {
    const previous = this.current;
    const pending = this.#pending;
    this.#pending = null;
    // The announced set: its assignment is built already and keeps its number.
    const planned = pending !== null && pending.change.next === set;
    const next = planned ? pending.assignment : new Assignment(this.config, set, this.#count + 1);
    this.#count = next.generation;
    this.#kept.push(next);
    if (this.#kept.length > KEPT_GENERATIONS) this.#kept.shift();
    const change: GenerationChange = { previous, next, planned };
    for (const l of [...this.#changeListeners]) l(change);
    return change;
  }

  /** A planned change was announced; null (and nobody told) before the first set. */
  announced(change: PlannedChange): GenerationAnnouncement | null {
    const current = this.current;
    if (current === null) return null;
    const next = new Assignment(this.config, change.next, this.#count + 1);
    this.#pending = { assignment: next, change };
    const a: GenerationAnnouncement = { current, next, change };
    for (const l of [...this.#announceListeners]) l(a);
    return a;
  }

  /** Hears every applied set. Returns the function that stops it. */
  onChange(listener: (c: GenerationChange) => void): () => void {
    return subscribe(this.#changeListeners, listener);
  }

  /** Hears every announcement. Returns the function that stops it. */
  onAnnounce(listener: (a: GenerationAnnouncement) => void): () => void {
    return subscribe(this.#announceListeners, listener);
  }
}

function subscribe<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const i = list.indexOf(item);
    if (i >= 0) list.splice(i, 1);
  };
}
