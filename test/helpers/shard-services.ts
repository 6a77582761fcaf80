/** Managed services opened on their own, for tests that compose the client's interceptors by hand. */
import type { TestContext } from 'node:test';
import type { ServiceOptions } from '../../src/client/service-options.js';
import { parseServiceOptions } from '../../src/client/service-options.js';
import { ServiceTable } from '../../src/client/service-table.js';
import { ShardService } from '../../src/client/shard-service.js';
import { silent } from './shard-client.js';

export async function openServiceTable(t: TestContext, services: Readonly<Record<string, ServiceOptions>>): Promise<ServiceTable> {
  const opened = await Promise.all(Object.entries(services).map(([name, options]) => ShardService.open(parseServiceOptions(name, options, process.cwd()), { logger: silent, firstSetTimeoutMs: 5_000 })));
  t.after(() => Promise.all(opened.map((s) => s.close(true))));
  return new ServiceTable(opened);
}
