/**
 * This proxy's own zone, for zone-aware routing. `--zone NAME` is taken as given; `--zone auto`
 * reads the zone label of the node the pod runs on (NODE_NAME, set from the downward API's
 * spec.nodeName), once at start, as Kubernetes' own topology-aware routing does. A node without a
 * zone label turns the preference off, with a warning; a node that cannot be read fails the start,
 * since the operator asked for a preference that would silently not happen.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { chooseClusterConnection } from './k8s/cluster-connection.js';
import type { ChooseConnectionOptions } from './k8s/cluster-connection.js';
import { readNodeZone, ZONE_LABEL } from './k8s/node-zone.js';

export const AUTO_ZONE = 'auto';

/**
 * The zone to prefer: `zone` itself, or for `auto` the node's zone label (null when it has none).
 * @throws ConfigError naming NODE_NAME when `auto` is asked for and it is not set
 * @throws ShardgateError (SG_ERR_DISCOVERY) when the node cannot be read, saying what to fix
 */
export async function resolveOwnZone(zone: string | null, logger: Logger, options: ChooseConnectionOptions = {}): Promise<string | null> {
  if (zone !== AUTO_ZONE) return zone;
  const env = options.env ?? process.env;
  const nodeName = env['NODE_NAME'] ?? '';
  if (nodeName.length === 0) {
    throw new ConfigError('SG_ERR_CONFIG', 'zone', 'is "auto", but NODE_NAME is not set: set it from the downward API (env: NODE_NAME, valueFrom.fieldRef.fieldPath: spec.nodeName), or give the zone by name (--zone us-east-1a)');
  }
  const found = await readNodeZone(chooseClusterConnection(options), nodeName);
  if (found === null) logger.warn({ node: nodeName }, `node ${nodeName} has no ${ZONE_LABEL} label: requests prefer no zone`);
  else logger.info({ node: nodeName, zone: found }, 'zone');
  return found;
}
