/**
 * Where the API server is and how to authenticate to it, chosen as kubectl chooses: the kubeconfig
 * named by KUBECONFIG, else ~/.kube/config if it exists, else the in-cluster service account
 * (token, ca.crt and namespace under /var/run/secrets/kubernetes.io/serviceaccount, and
 * KUBERNETES_SERVICE_HOST/PORT).
 *
 * Why not @kubernetes/client-node's KubeConfig: 2.x does not load on Node 20 (it needs undici 8,
 * which needs zlib zstd), and 1.x is 54 MB installed for what is here a YAML read and three
 * files; its ListWatch also requests no watch bookmarks, so the list+watch loop is ours anyway.
 * (1.4.0 is a devDependency: the tests hold the fake API server to what it expects.)
 * Supported auth: bearer token (inline or file), client certificates, and exec credential plugins
 * (exec-credential.ts). Legacy auth-provider plugins (gcp, azure, oidc) and basic auth are refused
 * with a message, not silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import type { Clock } from '../../balancer/clock.js';
import { ConfigError } from '../../errors.js';
import { ExecCredentialPlugin, parseExecConfig } from './exec-credential.js';

/** What authenticates a request: a bearer token, a client certificate (PEM), both, or neither. */
export interface Credential {
  readonly token: string | null;
  readonly cert: string | null;
  readonly key: string | null;
}

export interface ClusterConnection {
  /** `https://host:port` (or http for tests), no trailing slash. */
  readonly server: string;
  /**
   * The credential for the next request; asked for every request. In-cluster tokens are projected
   * and rotated by the kubelet (about hourly), so the file is read again each time; an exec
   * plugin's credential is kept until it expires. `signal` stops the wait.
   * @throws ExecCredentialError when an exec plugin fails
   */
  readonly credential: (signal?: AbortSignal) => Promise<Credential>;
  /**
   * The server answered 401 to a request made with `used`. Returns true when the next
   * `credential()` may differ (an exec plugin runs again), so that one more try is worth it.
   */
  readonly rejected: (used: Credential) => boolean;
  /** PEM CA bundle to trust; null means the system's. */
  readonly ca: string | null;
  readonly insecureSkipTlsVerify: boolean;
  /** The name to verify in the server's certificate, when not the host of `server`. */
  readonly tlsServerName: string | null;
  /** The namespace of the context or service account, for specs that leave it to the cluster. */
  readonly namespace: string | null;
  /** How messages name it: the kubeconfig path and context, or "in-cluster". */
  readonly label: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where token, ca.crt and namespace are; SERVICE_ACCOUNT_DIR by default. */
  readonly serviceAccountDir?: string;
}

/**
 * The in-cluster connection.
 * @throws ConfigError when not in a pod (no KUBERNETES_SERVICE_HOST) or the token is missing
 */
export function inClusterConnection(options: InClusterOptions = {}): ClusterConnection {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || port === '') {
    throw new ConfigError('SG_ERR_DISCOVERY', 'KUBERNETES_SERVICE_HOST', 'is not set: not running in a pod; set KUBECONFIG or create ~/.kube/config to reach a cluster from outside');
  }
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) {
    throw new ConfigError('SG_ERR_DISCOVERY', tokenFile, 'does not exist: mount the service account token (automountServiceAccountToken must not be false)');
  }
  const caFile = join(dir, 'ca.crt');
  const nsFile = join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    credential: async () => ({ token: (await readFile(tokenFile, 'utf8')).trim(), cert: null, key: null }),
    rejected: () => false,
    ca: existsSync(caFile) ? readFileSync(caFile, 'utf8') : null,
    insecureSkipTlsVerify: false,
    tlsServerName: null,
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : null,
    label: 'in-cluster',
  };
}

export interface KubeconfigOptions {
  /** A context other than current-context. */
  readonly context?: string;
  /** The wall clock (epoch milliseconds) exec credentials' expirationTimestamps are read against. */
  readonly wallClock?: Clock;
  /** How long an exec credential plugin may run (30 s by default). */
  readonly execTimeoutMs?: number;
}

/**
 * The connection of one kubeconfig file (its current context unless told).
 * @throws ConfigError naming the file and the field at fault
 */
export function kubeconfigConnection(path: string, options: KubeconfigOptions = {}): ClusterConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('SG_ERR_DISCOVERY', path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): give a readable kubeconfig`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ConfigError('SG_ERR_DISCOVERY', path, `is not YAML (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const root = asRecord(doc, path, 'the file');
  const contextName = options.context ?? stringAt(root, 'current-context', path, 'current-context');
  const context = namedEntry(root, 'contexts', contextName, 'context', path);
  const clusterName = stringAt(context, 'cluster', path, `contexts[${contextName}].context.cluster`);
  const cluster = namedEntry(root, 'clusters', clusterName, 'cluster', path);
  const userName = optionalString(context, 'user', path, `contexts[${contextName}].context.user`);
  const user: Record<string, unknown> = userName === null ? {} : namedEntry(root, 'users', userName, 'user', path);
  const base = dirname(path);
  const file = (p: string): string => readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8');
  const pem = (rec: Record<string, unknown>, dataKey: string, fileKey: string, where: string): string | null => {
    const data = optionalString(rec, dataKey, path, `${where}.${dataKey}`);
    if (data !== null) return Buffer.from(data, 'base64').toString('utf8');
    const f = optionalString(rec, fileKey, path, `${where}.${fileKey}`);
    return f === null ? null : file(f);
  };
  const userWhere = `users[${userName ?? ''}].user`;
  const provider = user['auth-provider'];
  if (provider !== undefined) {
    const name = typeof provider === 'object' && provider !== null ? (provider as Record<string, unknown>)['name'] : undefined;
    throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${userWhere}.auth-provider`, `(${typeof name === 'string' ? name : 'unnamed'}) of user "${userName ?? ''}" is a legacy auth provider, which is not supported (kubectl removed the gcp and azure providers in 1.26): give the user an exec credential plugin instead (gke-gcloud-auth-plugin for GKE, kubelogin for Azure and OIDC)`);
  }
  if (user['username'] !== undefined) {
    throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${userWhere}.username`, `is basic auth, which is not supported (Kubernetes removed it in 1.19): use a token, tokenFile, client-certificate and client-key, or an exec credential plugin`);
  }
  const inlineToken = optionalString(user, 'token', path, `${userWhere}.token`);
  const tokenFile = optionalString(user, 'tokenFile', path, `${userWhere}.tokenFile`);
  const server = stringAt(cluster, 'server', path, `clusters[${clusterName}].cluster.server`).replace(/\/+$/, '');
  const ca = pem(cluster, 'certificate-authority-data', 'certificate-authority', `clusters[${clusterName}].cluster`);
  const insecureSkipTlsVerify = cluster['insecure-skip-tls-verify'] === true;
  const tlsServerName = optionalString(cluster, 'tls-server-name', path, `clusters[${clusterName}].cluster.tls-server-name`);
  const cert = pem(user, 'client-certificate-data', 'client-certificate', userWhere);
  const key = pem(user, 'client-key-data', 'client-key', userWhere);
  const fixed: Credential = { token: inlineToken, cert, key };
  let credential: ClusterConnection['credential'];
  let rejected: ClusterConnection['rejected'] = () => false;
  if (user['exec'] !== undefined && user['exec'] !== null) {
    if (inlineToken !== null || tokenFile !== null) {
      throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${userWhere}`, `has both a token and an exec plugin: keep one (the plugin's token would never be used)`);
    }
    const plugin = new ExecCredentialPlugin(parseExecConfig(user['exec'], `${path}: ${userWhere}.exec`, base), userName ?? '', { server, ca, tlsServerName, insecureSkipTlsVerify }, {
      ...(options.wallClock === undefined ? {} : { clock: options.wallClock }),
      ...(options.execTimeoutMs === undefined ? {} : { timeoutMs: options.execTimeoutMs }),
    });
    // A certificate from the plugin wins over the kubeconfig's own, as in client-go.
    credential = async (signal) => {
      const c = await plugin.credential(signal);
      return c.cert === null ? { token: c.token, cert, key } : c;
    };
    rejected = (used) => {
      plugin.rejected(used);
      return true;
    };
  } else if (tokenFile !== null) {
    credential = async () => ({ token: (await readFile(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile), 'utf8')).trim(), cert, key });
  } else {
    credential = () => Promise.resolve(fixed);
  }
  return {
    server,
    credential,
    rejected,
    ca,
    insecureSkipTlsVerify,
    tlsServerName,
    namespace: optionalString(context, 'namespace', path, `contexts[${contextName}].context.namespace`),
    label: `${path} (context ${contextName})`,
  };
}

export interface ChooseConnectionOptions extends InClusterOptions, KubeconfigOptions {
  readonly home?: string;
}

/**
 * As kubectl chooses: KUBECONFIG (its first existing file; merging several is not supported),
 * else ~/.kube/config, else in-cluster.
 */
export function chooseClusterConnection(options: ChooseConnectionOptions = {}): ClusterConnection {
  const env = options.env ?? process.env;
  const fromEnv = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p.length > 0);
  const candidates = fromEnv.length > 0 ? fromEnv : [join(options.home ?? homedir(), '.kube', 'config')];
  const found = candidates.find((p) => existsSync(p));
  if (found !== undefined) return kubeconfigConnection(found, options);
  if (fromEnv.length > 0) {
    throw new ConfigError('SG_ERR_DISCOVERY', 'KUBECONFIG', `names no existing file (${fromEnv.join(', ')}): fix the path or unset it to use the in-cluster service account`);
  }
  return inClusterConnection(options);
}

function asRecord(v: unknown, path: string, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${where}`, 'is not a mapping: check the kubeconfig');
  return v as Record<string, unknown>;
}

function optionalString(rec: Record<string, unknown>, key: string, path: string, where: string): string | null {
  const v = rec[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${where}`, `is ${JSON.stringify(v)}: expected a string`);
  return v;
}

function stringAt(rec: Record<string, unknown>, key: string, path: string, where: string): string {
  const v = optionalString(rec, key, path, where);
  if (v === null) throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${where}`, 'is missing: check the kubeconfig (kubectl config view)');
  return v;
}

function namedEntry(root: Record<string, unknown>, list: string, name: string, inner: string, path: string): Record<string, unknown> {
  const entries = root[list];
  const found = Array.isArray(entries) ? (entries as unknown[]).find((e) => typeof e === 'object' && e !== null && (e as Record<string, unknown>)['name'] === name) : undefined;
  if (found === undefined) throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${list}`, `has no entry named "${name}": check the kubeconfig (kubectl config view)`);
  return asRecord((found as Record<string, unknown>)[inner] ?? {}, path, `${list}[${name}].${inner}`);
}
