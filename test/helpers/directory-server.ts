/**
 * A directory over a data plane, served on an admin listener of its own on 127.0.0.1, as
 * `shardgate serve --admin` and `shardgate directory` serve it; closed when the test ends.
 */
import type { TestContext } from 'node:test';
import { AdminServer } from '../../src/admin/admin-server.js';
import { Readiness } from '../../src/admin/readiness.js';
import type { ShardgateConfig } from '../../src/config/config.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import { Directory } from '../../src/directory/directory.js';
import type { DirectoryOptions } from '../../src/directory/directory.js';
import { DirectoryRoutes } from '../../src/directory/directory-routes.js';

export interface ServedDirectory {
  readonly directory: Directory;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
}

export async function serveDirectory(t: TestContext, plane: DataPlane, config: ShardgateConfig, extra: Partial<DirectoryOptions> = {}): Promise<ServedDirectory> {
  const directory = new Directory({ plane, config, ...extra });
  const admin = new AdminServer(new Readiness('inline'), [new DirectoryRoutes(directory)]);
  const { port } = await admin.listen(0, '127.0.0.1');
  t.after(async () => {
    directory.close();
    await admin.close();
  });
  return { directory, base: `http://127.0.0.1:${port}` };
}
