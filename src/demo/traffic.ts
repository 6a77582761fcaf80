/**
 * The demo's clients: undici dispatchers sending GET / and reading which pod answered. Sequential
 * sends keep exactly one request in flight (what `hey -c 1` does in the talk); concurrent sends run
 * `concurrency` workers over a shared counter, so at most that many requests are ever in flight.
 */
import type { Dispatcher } from 'undici';

export interface PodReply {
  readonly pod: string;
  readonly requestCount: number;
}

export type HeadersFor = (i: number) => Record<string, string> | undefined;

export interface SendOptions {
  /** Ask for the connection to be closed after the response: one TCP connection per request. */
  readonly newConnection?: boolean;
}

/** One GET /, its JSON answer checked: a pod's name and its request count. */
export async function getPod(dispatcher: Dispatcher, headers?: Record<string, string>, options: SendOptions = {}): Promise<PodReply> {
  const { statusCode, body } = await dispatcher.request({ path: '/', method: 'GET', headers, reset: options.newConnection === true });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`GET / answered ${statusCode}: ${text.slice(0, 200)}`);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`GET / answered ${text.slice(0, 200)}: expected {"pod":...,"request_count":...}`);
  const { pod, request_count: requestCount } = parsed as Record<string, unknown>;
  if (typeof pod !== 'string' || typeof requestCount !== 'number') {
    throw new Error(`GET / answered ${text.slice(0, 200)}: expected {"pod":...,"request_count":...}`);
  }
  return { pod, requestCount };
}

/** `count` requests one after the other; the replies in order. */
export async function sendSequential(dispatcher: Dispatcher, count: number, headersFor: HeadersFor = () => undefined, options: SendOptions = {}): Promise<PodReply[]> {
  const replies: PodReply[] = [];
  for (let i = 0; i < count; i++) replies.push(await getPod(dispatcher, headersFor(i), options));
  return replies;
}

/** `count` requests with at most `concurrency` in flight; the replies by request index. */
export async function sendConcurrent(dispatcher: Dispatcher, count: number, concurrency: number, headersFor: HeadersFor = () => undefined): Promise<PodReply[]> {
  const replies = new Array<PodReply>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      replies[i] = await getPod(dispatcher, headersFor(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return replies;
}

/**
 * Runs `use` with a dispatcher and always releases it: close() (after in-flight requests) when
 * `use` succeeded, destroy() when it failed, so that an error never leaves sockets open.
 */
export async function withDispatcher<D extends Dispatcher, T>(dispatcher: D, use: (d: D) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await use(dispatcher);
  } catch (err) {
    await dispatcher.destroy();
    throw err;
  }
  await dispatcher.close();
  return result;
}
