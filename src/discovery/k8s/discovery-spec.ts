/**
 * The `k8s:NAMESPACE/SERVICE[:PORT_NAME]` discovery spec: which Service's EndpointSlices to follow
 * and which of their named ports to send requests to.
 */
import { ConfigError } from '../../errors.js';

export interface K8sDiscoverySpec {
  readonly namespace: string;
  readonly service: string;
  /** The EndpointSlice port name; null when the Service has one port, which is then used. */
  readonly portName: string | null;
}

const PREFIX = 'k8s:';
// RFC 1123 label, as Kubernetes validates namespace names and port names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// RFC 1035 label, as Kubernetes validates Service names (a letter first).
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses `k8s:NAMESPACE/SERVICE[:PORT_NAME]`.
 * @throws ConfigError naming `field` and the part at fault
 */
export function parseK8sDiscoverySpec(text: string, field = 'discovery'): K8sDiscoverySpec {
  const shape = `give k8s:NAMESPACE/SERVICE or k8s:NAMESPACE/SERVICE:PORT_NAME, for example k8s:default/sharded-svc:http`;
  if (!text.startsWith(PREFIX)) throw new ConfigError('SG_ERR_DISCOVERY', field, `is ${JSON.stringify(text)}: ${shape}`);
  const rest = text.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new ConfigError('SG_ERR_DISCOVERY', field, `is ${JSON.stringify(text)}, with no namespace: ${shape}`);
  const namespace = rest.slice(0, slash);
  const tail = rest.slice(slash + 1);
  const colon = tail.indexOf(':');
  const service = colon < 0 ? tail : tail.slice(0, colon);
  const portName = colon < 0 ? null : tail.slice(colon + 1);
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    throw new ConfigError('SG_ERR_DISCOVERY', `${field}.namespace`, `is ${JSON.stringify(namespace)} in ${JSON.stringify(text)}: a namespace is a DNS label (lowercase letters, digits, '-', at most 63); ${shape}`);
  }
  if (!SERVICE_NAME.test(service) || service.length > 63) {
    throw new ConfigError('SG_ERR_DISCOVERY', `${field}.service`, `is ${JSON.stringify(service)} in ${JSON.stringify(text)}: a Service name starts with a letter and holds lowercase letters, digits and '-', at most 63; ${shape}`);
  }
  if (portName !== null && (!DNS_LABEL.test(portName) || portName.length > 63)) {
    throw new ConfigError('SG_ERR_DISCOVERY', `${field}.portName`, `is ${JSON.stringify(portName)} in ${JSON.stringify(text)}: a port name is a DNS label (lowercase letters, digits, '-'); leave it out when the Service has one port`);
  }
  return { namespace, service, portName };
}

/** The spec back in its text form, for messages. */
export function formatK8sDiscoverySpec(spec: K8sDiscoverySpec): string {
  return `${PREFIX}${spec.namespace}/${spec.service}${spec.portName === null ? '' : `:${spec.portName}`}`;
}
