/**
 * An endpoint's address as grpc-js dials it. Endpoint addresses are written as for the proxy
 * (`host:port`, `h2c://host:port`, `h2://host:port`; discovery gives `host:port`): a gRPC channel
 * takes the host and port, and its credentials, not the scheme, decide between TLS and cleartext.
 */
import type { experimental } from '@grpc/grpc-js';
import { parseEndpointAddress } from '../../proxy/address.js';

/** @throws ConfigError SG_ERR_ENDPOINTS naming `field` when the address cannot be dialled */
export function subchannelAddressOf(address: string, field: string): experimental.SubchannelAddress {
  const parsed = parseEndpointAddress(address, field);
  return { host: parsed.host, port: parsed.port };
}
