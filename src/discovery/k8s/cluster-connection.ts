/**
 * Where the API server is and how to authenticate to it, chosen as kubectl chooses: the kubeconfig
 * named by KUBECONFIG, else ~/.kube/config if it exists, else the in-cluster service account
 * (token, ca.crt and namespace under /var/run/secrets/kubernetes.io/serviceaccount, and
 * KUBERNETES_SERVICE_HOST/PORT).
 *
 * Why not @kubernetes/client-node's KubeConfig: 2.x does not load on Node 20 (it needs undici 8,
 * which needs zlib zstd), and 1.x is 54 MB installed for what is here a YAML read and three
 * files; its ListWatch also requests no watch bookmarks, so the list+watch loop is ours anyway.
 * Supported auth: bearer token (inline or file) and client certificates. Exec and auth-provider
 * plugins are refused with a message, not silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../errors.js';

export interface ClusterConnection {
  /** `https://host:port` (or http for tests), no trailing slash. */
  readonly server: string;
  /**
   * The bearer token for the next request, or null. A function: in-cluster tokens are projected
   * and rotated by the kubelet (about hourly), so the file is read again for every connection.
   */
  readonly token: () => string | null;
  /** PEM CA bundle to trust; null means the system's. */
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
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
    token: () => readFileSync(tokenFile, 'utf8').trim(),
    ca: existsSync(caFile) ? readFileSync(caFile, 'utf8') : null,
    cert: null,
    key: null,
    insecureSkipTlsVerify: false,
    tlsServerName: null,
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : null,
    label: 'in-cluster',
  };
}

export interface KubeconfigOptions {
  /** A context other than current-context. */
  readonly context?: string;
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
  const user = userName === null ? {} : namedEntry(root, 'users', userName, 'user', path);
  const base = dirname(path);
  const file = (p: string): string => readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8');
  const pem = (rec: Record<string, unknown>, dataKey: string, fileKey: string, where: string): string | null => {
    const data = optionalString(rec, dataKey, path, `${where}.${dataKey}`);
    if (data !== null) return Buffer.from(data, 'base64').toString('utf8');
    const f = optionalString(rec, fileKey, path, `${where}.${fileKey}`);
    return f === null ? null : file(f);
  };
  const userWhere = `users[${userName ?? ''}].user`;
  for (const unsupported of ['exec', 'auth-provider', 'username']) {
    if (user[unsupported] !== undefined) {
      throw new ConfigError('SG_ERR_DISCOVERY', `${path}: ${userWhere}.${unsupported}`, `is not supported: use a token, tokenFile, or client-certificate and client-key (a service account token works everywhere)`);
    }
  }
  const inlineToken = optionalString(user, 'token', path, `${userWhere}.token`);
  const tokenFile = optionalString(user, 'tokenFile', path, `${userWhere}.tokenFile`);
  const server = stringAt(cluster, 'server', path, `clusters[${clusterName}].cluster.server`).replace(/\/+$/, '');
  return {
    server,
    token: inlineToken !== null ? () => inlineToken : tokenFile !== null ? () => file(tokenFile).trim() : () => null,
    ca: pem(cluster, 'certificate-authority-data', 'certificate-authority', `clusters[${clusterName}].cluster`),
    cert: pem(user, 'client-certificate-data', 'client-certificate', userWhere),
    key: pem(user, 'client-key-data', 'client-key', userWhere),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: optionalString(cluster, 'tls-server-name', path, `clusters[${clusterName}].cluster.tls-server-name`),
    namespace: optionalString(context, 'namespace', path, `contexts[${contextName}].context.namespace`),
    label: `${path} (context ${contextName})`,
  };
}

export interface ChooseConnectionOptions extends InClusterOptions {
  readonly home?: string;
  readonly context?: string;
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
  if (found !== undefined) return kubeconfigConnection(found, options.context === undefined ? {} : { context: options.context });
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
