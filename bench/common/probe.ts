/** One request to a target, to see that it answers before it is measured: over HTTP/1.1 or h2c. */
import http from 'node:http';
import http2 from 'node:http2';

const PROBE_TIMEOUT_MS = 3_000;

/** The status of one HTTP/1.1 GET / (no keep-alive). */
export function http1Status(port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers, agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer on 127.0.0.1:${port} within ${PROBE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/** The status of one h2c GET / with prior knowledge, or the reason there was none. */
export function h2cStatus(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => finish(`no h2c answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    let done = false;
    function finish(result: number | string): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(result);
    }
    // Any failure is the probe's answer: the target does not speak h2c there.
    session.on('error', (e: Error) => finish(e.message));
    session.on('close', () => finish('connection closed'));
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => {
      req.resume();
      req.on('end', () => finish(Number(h[':status'])));
    });
    req.on('error', (e: Error) => finish(e.message));
    req.end();
  });
}
