/**
 * The admin page at `/` on the admin listener: plain HTML, CSS and JavaScript (src/admin/page/,
 * shipped as they are: no build step) and uPlot's script and stylesheet from the installed `uplot`
 * package, so the page works offline and loads nothing from elsewhere. The page polls
 * `/v1/status` (status-routes.ts) and asks the directory's `/v1/assignments` and `/v1/owner`, and
 * `/v1/hot-keys` where that is served.
 *
 * Every file is read once, at construction, and served from memory with its content type, a
 * strict Content-Security-Policy (this origin only, no inline script or style element) and
 * `nosniff`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AdminRoutes } from './admin-server.js';
import { replyJson } from './json-reply.js';

export const PAGE_PATH = '/';

/** Scripts, styles, fetches and images from this origin only; no frames, no plugins, no forms. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** The page's own files, beside the sources (dist/src/admin/ is three levels below the package root). */
const PAGE_DIR = new URL('../../../src/admin/page/', import.meta.url);

export class PageRoutes implements AdminRoutes {
  readonly paths: readonly string[];
  readonly #assets: ReadonlyMap<string, Asset>;

  /** @throws when a page file or the uplot package is missing (a broken install) */
  constructor() {
    const own = (file: string, type: string): Asset => ({ type, body: readFileSync(fileURLToPath(new URL(file, PAGE_DIR))) });
    const require = createRequire(import.meta.url);
    const uplot = (file: string, type: string): Asset => ({ type, body: readFileSync(require.resolve(`uplot/dist/${file}`)) });
    this.#assets = new Map([
      [PAGE_PATH, own('index.html', 'text/html; charset=utf-8')],
      ['/page.js', own('page.js', 'text/javascript; charset=utf-8')],
      ['/page.css', own('page.css', 'text/css; charset=utf-8')],
      ['/uplot.js', uplot('uPlot.iife.min.js', 'text/javascript; charset=utf-8')],
      ['/uplot.css', uplot('uPlot.min.css', 'text/css; charset=utf-8')],
    ]);
    this.paths = [...this.#assets.keys()];
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const asset = this.#assets.get(q < 0 ? target : target.slice(0, q));
    if (asset === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      replyJson(res, 405, { error: `${req.method ?? ''} is not allowed on the admin page: use GET` }, { allow: 'GET, HEAD' });
      return true;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'content-security-policy': PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // Small, and changed by an upgrade: revalidating costs nothing on the admin port.
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}
