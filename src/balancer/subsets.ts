/**
 * Subsets, as Envoy's subset load balancer has them: a request carrying a selector header
 * (`x-version: v2`) is routed among the endpoints whose label has that value (`version: v2`)
 * only. Each subset is a balancer of its own, of the same algorithm and options, built over the
 * subset's endpoints; so a keyed request in a subset goes to the key's owner among the subset's
 * endpoints, and affinity holds within a subset (a key may have another owner in another
 * subset, or in the whole set). Every subset picks on a view of one load board (load-board.ts):
 * an endpoint's in-flight count, limit, marks and latency are one, whichever subset picked it,
 * and with shared counts the view reads the process's cells as the root does.
 *
 * Which subsets exist. With selectors s1..sm, a request names a value for some of them (the
 * headers it carries); its subset is the endpoints that have every one of those labels with
 * those values. So subsets are built, at update() and never per request, for every combination
 * of configured labels that some endpoint has: at most n x (2^m - 1) for n endpoints, of which
 * the first `maxSubsets` are kept (fewest labels first, then by value, the same order in every
 * thread and proxy); labels that no selector names never make a subset.
 *
 * A request without any selector header uses every endpoint (or, with fallback `default`, the
 * default subset). One whose values match no subset: `any` uses every endpoint, `fail` is
 * refused (the proxy answers 503 naming the labels and values), `default` uses the default
 * subset (Envoy's ANY_ENDPOINT, NO_FALLBACK and DEFAULT_SUBSET). A subset that exists but whose
 * endpoints are all out of rotation answers as any balancer does (`all-unavailable`): the
 * fallback is for subsets that do not exist, as in Envoy.
 *
 * Cost: update() O(n x 2^m) to group, plus each kept subset's own update. select(): m reads and
 * at most m Map lookups with the header values as they came; no allocation.
 */
import type { Balancer } from './balancer.js';
import type { Endpoint, EndpointSet } from './endpoint.js';
import { EMPTY_SET, filterEndpointSet } from './endpoint.js';
import type { LoadBoard } from './load-board.js';
import { ConfigError } from '../errors.js';

export interface SubsetSelector {
  /** Lower-case request header whose value selects. */
  readonly header: string;
  /** Endpoint label the value must equal. */
  readonly label: string;
}

export const SUBSET_FALLBACKS = ['any', 'fail', 'default'] as const;
export type SubsetFallback = (typeof SUBSET_FALLBACKS)[number];

export interface SubsetOptions {
  readonly selectors: readonly SubsetSelector[];
  /** What a request whose values match no subset gets. */
  readonly fallback: SubsetFallback;
  /** The default subset's labels, for fallback `default` (null otherwise). */
  readonly defaultSubset: Readonly<Record<string, string>> | null;
  /** Most subsets built; combinations past it are treated as matching none. */
  readonly maxSubsets: number;
}

/** 2^4 - 1 = 15 combinations per endpoint at most. */
export const MAX_SELECTORS = 4;
export const DEFAULT_MAX_SUBSETS = 64;
export const MAX_SUBSETS_LIMIT = 4_096;

/** Builds a subset's balancer: the configured algorithm on a view of the load board. */
export type SubsetBuilder = (board: LoadBoard) => Balancer;

/** One level of the selector trie: the next selector's value, or its absence. */
class TrieNode {
  present: Map<string, TrieNode> | null = null;
  absent: TrieNode | null = null;
  /** At depth m: the subset's balancer. */
  balancer: Balancer | null = null;
}

interface Subset {
  readonly board: LoadBoard;
  readonly balancer: Balancer;
}

interface Group {
  /** The selector values that define it; undefined where the selector plays no part. */
  readonly values: readonly (string | undefined)[];
  readonly labels: number;
  readonly names: Set<string>;
}

const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Subsets keyed by their selector values; the default subset's key cannot be a JSON array. */
const DEFAULT_KEY = 'default';

export class SubsetRouter {
  readonly options: SubsetOptions;
  /** The selector headers, lower-case, in selector order: what the proxy reads from each request. */
  readonly headers: readonly string[];
  /** Subsets built for the current set (the default subset not counted). */
  subsets = 0;
  /** Label combinations present on endpoints but not built, past `maxSubsets`. */
  dropped = 0;
  readonly #board: LoadBoard;
  readonly #make: SubsetBuilder;
  #subsets = new Map<string, Subset>();
  #trie = new TrieNode();
  #noHeader: Balancer | null;
  #unmatched: Balancer | null;
  #defaultEmpty = false;
  #set: EndpointSet | null = null;

  /**
   * `all` is the balancer over every endpoint (the proxy's own, on `board`); `make` builds each
   * subset's, on a view of `board`.
   * @throws ConfigError naming the `subsets` field at fault
   */
  constructor(options: SubsetOptions, board: LoadBoard, make: SubsetBuilder, all: Balancer) {
    this.options = validateSubsetOptions(options, 'subsets');
    this.headers = this.options.selectors.map((s) => s.header);
    this.#board = board;
    this.#make = make;
    this.#noHeader = this.options.fallback === 'default' ? null : all;
    this.#unmatched = this.options.fallback === 'any' ? all : null;
  }

  /** Rebuilds the subsets for `set`; call after the balancer over every endpoint took it. */
  update(set: EndpointSet): void {
    if (set === this.#set) return;
    this.#board.sync(set);
    const selectors = this.options.selectors;
    const m = selectors.length;
    const groups = new Map<string, Group>();
    const values: (string | undefined)[] = new Array<string | undefined>(m);
    for (const e of set.endpoints) {
      for (let mask = 1; mask < 1 << m; mask++) {
        let labels = 0;
        let complete = true;
        for (let i = 0; i < m; i++) {
          values[i] = undefined;
          if ((mask & (1 << i)) === 0) continue;
          const v = labelOf(e, selectors[i]!.label);
          if (v === undefined) {
            complete = false;
            break;
          }
          values[i] = v;
          labels++;
        }
        if (!complete) continue;
        const key = JSON.stringify(values.map((v) => v ?? null));
        let g = groups.get(key);
        if (g === undefined) groups.set(key, (g = { values: values.slice(), labels, names: new Set() }));
        g.names.add(e.name);
      }
    }
    const ordered = [...groups.entries()].sort(([ka, a], [kb, b]) => a.labels - b.labels || (ka < kb ? -1 : ka > kb ? 1 : 0));
    const kept = ordered.slice(0, this.options.maxSubsets);
    const next = new Map<string, Subset>();
    const trie = new TrieNode();
    for (const [key, g] of kept) {
      const subset = this.#subsetFor(key);
      subset.balancer.update(filterEndpointSet(set, (e) => g.names.has(e.name)));
      next.set(key, subset);
      insert(trie, g.values, subset.balancer);
    }
    const defaults = this.options.defaultSubset;
    if (defaults !== null) {
      const subset = this.#subsetFor(DEFAULT_KEY);
      const members = filterEndpointSet(set, (e) => hasLabels(e, defaults));
      subset.balancer.update(members);
      next.set(DEFAULT_KEY, subset);
      this.#defaultEmpty = members.endpoints.length === 0;
      // An empty default subset refuses, naming its labels, rather than answering `empty`.
      this.#noHeader = this.#unmatched = this.#defaultEmpty ? null : subset.balancer;
    }
    // Subsets that no endpoint has any more: their views let go of every load.
    for (const [key, subset] of this.#subsets) if (!next.has(key)) subset.balancer.update(EMPTY_SET);
    this.#subsets = next;
    this.#trie = trie;
    this.subsets = kept.length;
    this.dropped = ordered.length - kept.length;
    this.#set = set;
  }

  /**
   * The balancer for a request whose selector headers had `values` (in selector order, undefined
   * for a header it lacks): its subset's, the one for no header, or the fallback. null: refuse
   * the request (fallback `fail`, or an empty default subset); `describeMiss` says why.
   */
  select(values: readonly (string | undefined)[]): Balancer | null {
    let any = false;
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== undefined) {
        any = true;
        break;
      }
    }
    if (!any) return this.#noHeader;
    let node: TrieNode | null = this.#trie;
    for (let i = 0; i < values.length && node !== null; i++) {
      const v = values[i];
      node = v === undefined ? node.absent : (node.present?.get(v) ?? null);
    }
    return node?.balancer ?? this.#unmatched;
  }

  /** Why `select(values)` refused, for the 503's body. Allocates: the refusal path only. */
  describeMiss(values: readonly (string | undefined)[]): string {
    const asked: string[] = [];
    this.options.selectors.forEach((s, i) => {
      const v = values[i];
      if (v !== undefined) asked.push(`${s.label}=${JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v)} (header ${s.header})`);
    });
    const defaults = this.options.defaultSubset;
    const defaultText = defaults === null ? '' : Object.entries(defaults).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    if (asked.length === 0 || this.#defaultEmpty) {
      const prefix = asked.length === 0 ? 'the request names no subset' : `no endpoint has the labels ${asked.join(', ')}`;
      return `${prefix}, and no endpoint is in the default subset (${defaultText})`;
    }
    const over = this.dropped > 0 ? `; ${this.dropped} label combinations past subsets.maxSubsets (${this.options.maxSubsets}) were not built` : '';
    return `no endpoint has the labels ${asked.join(', ')}${over}`;
  }

  #subsetFor(key: string): Subset {
    const existing = this.#subsets.get(key);
    if (existing !== undefined) return existing;
    const board = this.#board.view();
    return { board, balancer: this.#make(board) };
  }
}

function insert(root: TrieNode, values: readonly (string | undefined)[], balancer: Balancer): void {
  let node = root;
  for (const v of values) {
    if (v === undefined) {
      node = node.absent ??= new TrieNode();
    } else {
      const present = (node.present ??= new Map<string, TrieNode>());
      let child = present.get(v);
      if (child === undefined) present.set(v, (child = new TrieNode()));
      node = child;
    }
  }
  node.balancer = balancer;
}

function labelOf(e: Endpoint, label: string): string | undefined {
  return Object.hasOwn(e.labels, label) ? e.labels[label] : undefined;
}

function hasLabels(e: Endpoint, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(labels)) if (labelOf(e, k) !== v) return false;
  return true;
}

/**
 * Checks subset options and lower-cases the headers.
 * @throws ConfigError naming the field under `field` (`subsets.selectors[1].header`, say)
 */
export function validateSubsetOptions(options: SubsetOptions, field: string): SubsetOptions {
  const selectors = options.selectors;
  if (selectors.length === 0 || selectors.length > MAX_SELECTORS) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.selectors`, `has ${selectors.length} selectors: name from 1 to ${MAX_SELECTORS} request headers and the endpoint label each selects, for example { header: x-version, label: version } (--subset x-version=version)`);
  }
  const headers = new Set<string>();
  const labels = new Set<string>();
  const checked = selectors.map((s, i): SubsetSelector => {
    const header = typeof s.header === 'string' ? s.header.toLowerCase() : '';
    if (!HEADER_TOKEN.test(header)) {
      throw new ConfigError('SG_ERR_CONFIG', `${field}.selectors[${i}].header`, `is ${JSON.stringify(s.header)}: give a request header name (letters, digits and !#$%&'*+-.^_\`|~), for example x-version`);
    }
    if (headers.has(header)) {
      throw new ConfigError('SG_ERR_CONFIG', `${field}.selectors[${i}].header`, `is ${JSON.stringify(header)}, which an earlier selector reads already: each header selects one label`);
    }
    if (typeof s.label !== 'string' || s.label.length === 0) {
      throw new ConfigError('SG_ERR_CONFIG', `${field}.selectors[${i}].label`, `is ${JSON.stringify(s.label)}: give the endpoint label the header's value must equal, for example version`);
    }
    if (labels.has(s.label)) {
      throw new ConfigError('SG_ERR_CONFIG', `${field}.selectors[${i}].label`, `is ${JSON.stringify(s.label)}, which an earlier selector selects already: give each label one header`);
    }
    headers.add(header);
    labels.add(s.label);
    return { header, label: s.label };
  });
  if (!(SUBSET_FALLBACKS as readonly string[]).includes(options.fallback)) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.fallback`, `is ${JSON.stringify(options.fallback)}: use ${SUBSET_FALLBACKS.join(', ')}`);
  }
  const defaults = options.defaultSubset;
  if (options.fallback === 'default' && (defaults === null || Object.keys(defaults).length === 0)) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.default`, `is missing: fallback default sends requests that match no subset to the endpoints with the default labels; give them, for example { version: v1 } (--subset-default version=v1)`);
  }
  if (options.fallback !== 'default' && defaults !== null) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.default`, `is set, but fallback is ${options.fallback}: set fallback to default to use the default subset, or remove default`);
  }
  if (!Number.isInteger(options.maxSubsets) || options.maxSubsets < 1 || options.maxSubsets > MAX_SUBSETS_LIMIT) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.maxSubsets`, `is ${String(options.maxSubsets)}: use an integer from 1 to ${MAX_SUBSETS_LIMIT}; each subset holds a balancer's tables (a maglev table is 65,537 entries), the default is ${DEFAULT_MAX_SUBSETS}`);
  }
  return { selectors: checked, fallback: options.fallback, defaultSubset: defaults === null ? null : { ...defaults }, maxSubsets: options.maxSubsets };
}
