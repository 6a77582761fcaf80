/**
 * Kubeconfig exec credential plugins (`users[].user.exec`, client.authentication.k8s.io/v1 and
 * v1beta1), run as kubectl runs them
 * (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins):
 * the command with its args, our environment plus its `env` entries, and KUBERNETES_EXEC_INFO
 * holding the ExecCredential request with spec.interactive false (there is no terminal to ask on).
 * Its stdout is an ExecCredential whose status carries a bearer token, or a client certificate and
 * key (PEM), or both.
 *
 * The credential is kept until its status.expirationTimestamp less a margin (for ever without
 * one, as client-go does) and dropped when the API server answers 401 to it, so that the next
 * request runs the plugin again. Concurrent requests share one run. A run is bounded by a timeout,
 * past which the plugin is killed (SIGKILL: one that ignores SIGTERM must not hold discovery).
 *
 * Injected: the wall clock expirations are compared with (epoch milliseconds) and the timeout.
 */
import { execFile } from 'node:child_process';
import { isAbsolute, join, sep } from 'node:path';
import type { Clock } from '../../balancer/clock.js';
import { ConfigError, ShardgateError } from '../../errors.js';
import type { Credential } from './cluster-connection.js';

const API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
export type ExecApiVersion = (typeof API_VERSIONS)[number];

export interface ExecConfig {
  readonly apiVersion: ExecApiVersion;
  /** As written, or resolved against the kubeconfig's directory when relative with a separator. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  /** Shown when the command is missing: how to install it. */
  readonly installHint: string | null;
  /** Pass the cluster (server, CA) to the plugin in KUBERNETES_EXEC_INFO's spec.cluster. */
  readonly provideClusterInfo: boolean;
}

/** The cluster as spec.cluster describes it to a plugin that asked for it (provideClusterInfo). */
export interface ExecClusterInfo {
  readonly server: string;
  readonly ca: string | null;
  readonly tlsServerName: string | null;
  readonly insecureSkipTlsVerify: boolean;
}

/** Why a run failed, for telling failure states apart. */
export type ExecFailure = 'not-found' | 'timeout' | 'exit' | 'output';

/** A plugin could not be run or gave no usable credential. */
export class ExecCredentialError extends ShardgateError {
  /** The kubeconfig user whose plugin failed. */
  readonly user: string;
  readonly failure: ExecFailure;
  constructor(user: string, failure: ExecFailure, message: string, options?: ErrorOptions) {
    super('SG_ERR_DISCOVERY', message, options);
    this.name = 'ExecCredentialError';
    this.user = user;
    this.failure = failure;
  }
}

/** Kept until this long before its expirationTimestamp, so that no request leaves with a token about to expire. */
export const EXEC_EXPIRY_MARGIN_MS = 10_000;
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
/** Enough for any credential; a plugin printing more is broken. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export const wallClock: Clock = { nowMs: () => Date.now() };

/**
 * Reads `users[NAME].user.exec`. `where` names it in messages (`FILE: users[NAME].user.exec`);
 * `baseDir` is the kubeconfig's directory.
 * @throws ConfigError naming the field at fault
 */
export function parseExecConfig(raw: unknown, where: string, baseDir: string): ExecConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('SG_ERR_DISCOVERY', where, 'is not a mapping: give command, apiVersion and optionally args and env');
  const rec = raw as Record<string, unknown>;
  const apiVersion = rec['apiVersion'];
  if (!API_VERSIONS.includes(apiVersion as ExecApiVersion)) {
    throw new ConfigError('SG_ERR_DISCOVERY', `${where}.apiVersion`, `is ${JSON.stringify(apiVersion)}: give ${API_VERSIONS.join(' or ')} (v1alpha1 was removed in Kubernetes 1.24)`);
  }
  const command = rec['command'];
  if (typeof command !== 'string' || command === '') throw new ConfigError('SG_ERR_DISCOVERY', `${where}.command`, `is ${JSON.stringify(command)}: give the plugin's executable`);
  const args = rec['args'] ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new ConfigError('SG_ERR_DISCOVERY', `${where}.args`, 'is not a list of strings');
  const env = rec['env'] ?? [];
  if (!Array.isArray(env)) throw new ConfigError('SG_ERR_DISCOVERY', `${where}.env`, 'is not a list of {name, value}');
  const pairs = env.map((e: unknown, i) => {
    const entry = e as { name?: unknown; value?: unknown } | null;
    if (typeof entry?.name !== 'string' || entry.name === '' || typeof entry.value !== 'string') {
      throw new ConfigError('SG_ERR_DISCOVERY', `${where}.env[${i}]`, `is ${JSON.stringify(e)}: give {name: NAME, value: VALUE}, both strings`);
    }
    return { name: entry.name, value: entry.value };
  });
  const mode = rec['interactiveMode'];
  if (mode !== undefined && mode !== 'Never' && mode !== 'IfAvailable' && mode !== 'Always') {
    throw new ConfigError('SG_ERR_DISCOVERY', `${where}.interactiveMode`, `is ${JSON.stringify(mode)}: give Never, IfAvailable or Always`);
  }
  if (mode === 'Always') {
    throw new ConfigError('SG_ERR_DISCOVERY', `${where}.interactiveMode`, 'is "Always", but the plugin runs without a terminal here: use a plugin mode that needs no prompt (IfAvailable or Never), with credentials it can find on its own');
  }
  const installHint = rec['installHint'];
  return {
    apiVersion: apiVersion as ExecApiVersion,
    // kubectl resolves a relative command against the kubeconfig's directory only when it holds a
    // separator; a bare name is looked up on PATH.
    command: !isAbsolute(command) && command.includes(sep) ? join(baseDir, command) : command,
    args: args,
    env: pairs,
    installHint: typeof installHint === 'string' && installHint !== '' ? installHint : null,
    provideClusterInfo: rec['provideClusterInfo'] === true,
  };
}

export interface ExecPluginOptions {
  readonly clock?: Clock;
  readonly timeoutMs?: number;
  /** Our environment, to which the plugin's env entries are added. */
  readonly env?: NodeJS.ProcessEnv;
}

interface Cached {
  readonly credential: Credential;
  /** Epoch milliseconds; null: valid until the server refuses it. */
  readonly expiresAtMs: number | null;
}

/** One kubeconfig user's plugin and its cached credential. */
export class ExecCredentialPlugin {
  readonly #config: ExecConfig;
  readonly #user: string;
  readonly #cluster: ExecClusterInfo;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #env: NodeJS.ProcessEnv;
  #cached: Cached | null = null;
  #running: Promise<Credential> | null = null;
  #runs = 0;

  constructor(config: ExecConfig, user: string, cluster: ExecClusterInfo, options: ExecPluginOptions = {}) {
    this.#config = config;
    this.#user = user;
    this.#cluster = cluster;
    this.#clock = options.clock ?? wallClock;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.#env = options.env ?? process.env;
  }

  /** How many times the plugin has been started. */
  get runs(): number {
    return this.#runs;
  }

  /**
   * The cached credential while it is fresh, else the plugin's next one. `signal` stops the wait,
   * not a run another request shares.
   * @throws ExecCredentialError naming the user, with the plugin's stderr
   */
  credential(signal?: AbortSignal): Promise<Credential> {
    const c = this.#cached;
    if (c !== null && (c.expiresAtMs === null || this.#clock.nowMs() < c.expiresAtMs - EXEC_EXPIRY_MARGIN_MS)) return Promise.resolve(c.credential);
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return untilAborted(this.#running, signal);
  }

  /** The server answered 401 to `used`: forget it, so that the next request runs the plugin again. */
  rejected(used: Credential): void {
    const c = this.#cached?.credential;
    if (c !== undefined && c.token === used.token && (c.cert === null || c.cert === used.cert)) this.#cached = null;
  }

  async #run(): Promise<Credential> {
    const { command, args, apiVersion } = this.#config;
    const request = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(this.#config.provideClusterInfo ? { cluster: clusterSpec(this.#cluster) } : {}) } };
    const env: NodeJS.ProcessEnv = { ...this.#env, KUBERNETES_EXEC_INFO: JSON.stringify(request) };
    for (const { name, value } of this.#config.env) env[name] = value;
    const who = `user "${this.#user}": exec credential plugin ${JSON.stringify([command, ...args].join(' '))}`;
    this.#runs++;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(command, [...args], { env, timeout: this.#timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true }, (error, out, err) => {
        if (error === null) {
          resolve(out);
          return;
        }
        const stderr = err.trim().slice(-1000);
        if (error.code === 'ENOENT') {
          reject(new ExecCredentialError(this.#user, 'not-found', `${who}: ${command} was not found (not on PATH, or no such file): ${this.#config.installHint ?? 'install it, or give its full path in the kubeconfig\'s exec.command'}`, { cause: error }));
        } else if (error.killed === true) {
          reject(new ExecCredentialError(this.#user, 'timeout', `${who}: gave no credential within ${this.#timeoutMs} ms and was stopped; it must not wait for input${stderr === '' ? '' : `; stderr: ${JSON.stringify(stderr)}`}`, { cause: error }));
        } else {
          reject(new ExecCredentialError(this.#user, 'exit', `${who}: exited with ${typeof error.code === 'number' ? `code ${error.code}` : String(error.code ?? error.signal ?? error.message)}${stderr === '' ? '' : `; stderr: ${JSON.stringify(stderr)}`}`, { cause: error }));
        }
      });
    });
    const cached = parseExecCredential(stdout, apiVersion, (problem) => new ExecCredentialError(this.#user, 'output', `${who}: ${problem}`));
    this.#cached = cached;
    return cached.credential;
  }
}

/** The plugin's ExecCredential: its credential and expiry. */
function parseExecCredential(stdout: string, apiVersion: ExecApiVersion, fail: (problem: string) => ExecCredentialError): Cached {
  let doc: { apiVersion?: unknown; kind?: unknown; status?: { token?: unknown; clientCertificateData?: unknown; clientKeyData?: unknown; expirationTimestamp?: unknown } | null };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw fail(`printed something that is not JSON, where an ExecCredential was expected: ${JSON.stringify(stdout.trim().slice(0, 200))}`);
  }
  if (doc?.kind !== 'ExecCredential') throw fail(`printed kind ${JSON.stringify(doc?.kind)}, not ExecCredential`);
  if (doc.apiVersion !== apiVersion) throw fail(`printed apiVersion ${JSON.stringify(doc.apiVersion)}, but the kubeconfig asks for ${apiVersion}: make them agree`);
  const status = doc.status;
  if (typeof status !== 'object' || status === null) throw fail('printed an ExecCredential without status');
  const text = (v: unknown, field: string): string | null => {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') throw fail(`printed status.${field} ${JSON.stringify(v)}, not a string`);
    return v;
  };
  const token = text(status.token, 'token');
  const cert = text(status.clientCertificateData, 'clientCertificateData');
  const key = text(status.clientKeyData, 'clientKeyData');
  if ((cert === null) !== (key === null)) throw fail('printed only one of status.clientCertificateData and status.clientKeyData: both or neither');
  if (token === null && cert === null) throw fail('printed neither status.token nor a client certificate');
  const expires = text(status.expirationTimestamp, 'expirationTimestamp');
  const expiresAtMs = expires === null ? null : Date.parse(expires);
  if (expiresAtMs !== null && Number.isNaN(expiresAtMs)) throw fail(`printed status.expirationTimestamp ${JSON.stringify(expires)}, not an RFC 3339 time`);
  return { credential: { token, cert, key }, expiresAtMs };
}

function clusterSpec(c: ExecClusterInfo): Record<string, unknown> {
  return {
    server: c.server,
    ...(c.ca === null ? {} : { 'certificate-authority-data': Buffer.from(c.ca).toString('base64') }),
    ...(c.tlsServerName === null ? {} : { 'tls-server-name': c.tlsServerName }),
    'insecure-skip-tls-verify': c.insecureSkipTlsVerify,
  };
}

/** `p`, unless `signal` aborts first (then its reason). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
