/**
 * The zone of the node this process runs on, for zone-aware routing in a cluster: the node's
 * `topology.kubernetes.io/zone` label, or the deprecated `failure-domain.beta.kubernetes.io/zone`
 * of older clusters (https://kubernetes.io/docs/reference/labels-annotations-taints/). The node's
 * name comes from the pod's spec through the downward API (conventionally NODE_NAME). One GET at
 * start-up; the answer's failures are turned into what to do about them.
 */
import { ShardgateError } from '../../errors.js';
import { realTimers } from '../static-file.js';
import { ApiStatusError } from './api-status-error.js';
import { ApiTransport } from './api-transport.js';
import type { ClusterConnection } from './cluster-connection.js';
import { RequestDeadline, RequestTimeoutError } from './request-deadline.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const LEGACY_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';
const READ_TIMEOUT_MS = 10_000;

/**
 * The zone label of node `nodeName`, or null when the node has none.
 * @throws ShardgateError (SG_ERR_DISCOVERY) saying what to fix on 403 (RBAC) and 404 (NODE_NAME);
 *   ApiStatusError for other refusals; RequestTimeoutError after 10 s without an answer
 */
export async function readNodeZone(connection: ClusterConnection, nodeName: string, signal?: AbortSignal): Promise<string | null> {
  const transport = new ApiTransport(connection);
  const path = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;
  const deadline = new RequestDeadline(realTimers, signal ?? new AbortController().signal, READ_TIMEOUT_MS);
  try {
    const res = await transport.get(path, deadline.signal);
    const node = (await res.body.json()) as { metadata?: { labels?: Record<string, string> | null } };
    const labels = node.metadata?.labels ?? {};
    return labels[ZONE_LABEL] ?? labels[LEGACY_ZONE_LABEL] ?? null;
  } catch (e) {
    const where = `${connection.label}: GET ${path}`;
    if (deadline.expired) throw new RequestTimeoutError('get', `${where}: no answer within ${READ_TIMEOUT_MS} ms`);
    if (e instanceof ApiStatusError && e.status === 403) {
      throw new ShardgateError('SG_ERR_DISCOVERY', `${where}: forbidden (${e.message}): reading the node's zone needs get on nodes, which are cluster-scoped: bind the service account to a ClusterRole allowing get on nodes, or pass --zone NAME instead`, { cause: e });
    }
    if (e instanceof ApiStatusError && e.status === 404) {
      throw new ShardgateError('SG_ERR_DISCOVERY', `${where}: there is no node named "${nodeName}": check the NODE_NAME env var, which the pod spec should set from the downward API (valueFrom.fieldRef.fieldPath: spec.nodeName)`, { cause: e });
    }
    throw e;
  } finally {
    deadline.dispose();
    await transport.close();
  }
}
