/**
 * A Server-Sent Events client for tests: one GET on its own connection, the stream parsed as it
 * arrives (WHATWG HTML's event stream format: `id:`, `event:`, `data:` lines, a blank line ends
 * an event, `:` starts a comment), events kept in order and awaited by name.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';

export interface StreamedEvent {
  readonly id: string | null;
  readonly event: string;
  readonly data: unknown;
}

export class EventStreamClient {
  readonly events: StreamedEvent[] = [];
  comments = 0;
  status = 0;
  contentType = '';
  readonly #req: http.ClientRequest;
  #partial = '';
  #waiters: { readonly test: (e: StreamedEvent) => boolean; readonly resolve: (e: StreamedEvent) => void }[] = [];
  #commentWaiters: (() => void)[] = [];
  #seen = 0;

  private constructor(req: http.ClientRequest) {
    this.#req = req;
  }

  /** Connects; resolves once the response head has come. */
  static open(url: string): Promise<EventStreamClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false });
      const client = new EventStreamClient(req);
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        client.status = res.statusCode ?? 0;
        client.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.#feed(chunk));
        res.on('error', () => undefined);
        resolve(client);
      });
    });
  }

  /** The next event named `event` not yet returned by next(), waiting up to `timeoutMs`. */
  next(event: string, timeoutMs = 5_000): Promise<StreamedEvent> {
    const found = this.events.findIndex((e, i) => i >= this.#seen && e.event === event);
    if (found >= 0) {
      this.#seen = found + 1;
      return Promise.resolve(this.events[found]!);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms; got ${this.events.map((e) => e.event).join(', ')}`)), timeoutMs);
      this.#waiters.push({
        test: (e) => e.event === event,
        resolve: (e) => {
          clearTimeout(timer);
          this.#seen = this.events.indexOf(e) + 1;
          resolve(e);
        },
      });
    });
  }

  /** Resolves at the next comment line (a heartbeat). */
  nextComment(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no comment within ${timeoutMs} ms`)), timeoutMs);
      this.#commentWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.#req.destroy();
  }

  #feed(chunk: string): void {
    this.#partial += chunk;
    let end: number;
    while ((end = this.#partial.indexOf('\n\n')) >= 0) {
      const block = this.#partial.slice(0, end);
      this.#partial = this.#partial.slice(end + 2);
      let id: string | null = null;
      let event = 'message';
      let data = '';
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments++;
          for (const w of this.#commentWaiters.splice(0)) w();
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'id') id = value;
        else if (name === 'event') event = value;
        else if (name === 'data') data += (fields++ > 0 ? '\n' : '') + value;
      }
      if (fields === 0) continue;
      const e: StreamedEvent = { id, event, data: JSON.parse(data) as unknown };
      this.events.push(e);
      const ready = this.#waiters.filter((w) => w.test(e));
      this.#waiters = this.#waiters.filter((w) => !w.test(e));
      ready[0]?.resolve(e);
      for (const w of ready.slice(1)) this.#waiters.push(w);
    }
  }
}
