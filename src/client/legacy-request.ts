/**
 * A routed request whose caller speaks undici's callback handler API (onConnect, onHeaders,
 * onData, onComplete, onError): what `request()`, `stream()`, undici's fetch and Node's own fetch
 * still hand to `dispatch`. The dispatcher routes these itself, before any interceptor chain:
 * through a chain undici would turn the caller's handler into a controller one and the pool's
 * answers back, parsing every response head into an object and rebuilding it into buffers, which
 * costs more than the routing (a quarter of a plain Pool's CPU per request). Here the pool's raw
 * head goes to the caller as it is.
 *
 * Retries go straight back to the service's pick, leaving out the endpoints tried. An abandoned
 * attempt (a 5xx answer retried elsewhere) is aborted with a shared error, whose onError is then
 * ignored. The caller gets an abort function of its own (one per request, as undici gives one), so
 * that its abort reaches the attempt under way and is told apart from a failure: an aborted
 * request is `cancelled` and never retried.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { RoutedService } from './routed-request.js';
import { RoutedRequest } from './routed-request.js';

type Handler = Dispatcher.DispatchHandler;
type Abort = (err?: Error) => void;

// One instance for every abandoned attempt: it comes back only to onError, where it is recognised.
const RETRIED = new errors.RequestAbortedError('the attempt is retried on another endpoint');

export class LegacyRequest extends RoutedRequest implements Handler {
  readonly #handler: Handler;
  /** The current attempt's abort, from the pool; null between attempts. */
  #abort: Abort | null = null;
  /** Abandoned attempts whose RETRIED error has yet to arrive. */
  #abandoned = 0;
  /** Set once the caller aborts; a later attempt is aborted as it starts. */
  #abortedWith: Error | null = null;
  /** What the caller gets as its abort: it reaches whichever attempt is under way. */
  readonly #callerAbort: Abort;

  constructor(service: RoutedService, opts: Dispatcher.DispatchOptions, handler: Handler) {
    super(service, opts);
    this.#handler = handler;
    this.#callerAbort = (err?: Error): void => {
      this.#abortedWith = err ?? new errors.RequestAbortedError();
      this.#abort?.(this.#abortedWith);
    };
  }

  protected get retryable(): boolean {
    return this.service.plane.retries !== null;
  }

  protected redispatch(): void {
    this.service.route(this);
  }

  protected fail(error: Error): void {
    this.#handler.onError?.(error);
  }

  onConnect(abort: Abort): void {
    if (this.#abortedWith !== null) {
      abort(this.#abortedWith);
      return;
    }
    this.#abort = abort;
    this.started = true;
    this.#handler.onConnect?.(this.#callerAbort);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 500 && !this.responded && this.retryable) {
      const abort = this.#abort;
      this.#abort = null;
      if (this.retryAnswer(statusCode)) {
        this.#abandoned++;
        abort?.(RETRIED);
        return true;
      }
      this.#abort = abort;
    }
    this.status = statusCode;
    if (statusCode >= 200) this.responded = true;
    return this.#handler.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.#handler.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.#abort = null;
    this.finished();
    this.#handler.onComplete?.(trailers);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.#abort = null;
    this.responded = true;
    this.status = statusCode;
    this.finished();
    this.#handler.onUpgrade?.(statusCode, headers, socket);
  }

  onRequestSent(): void {
    (this.#handler as { onRequestSent?: () => void }).onRequestSent?.();
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.#handler.onBodySent?.(chunkSize, totalBytesSent);
  }

  onError(err: Error): void {
    if (err === RETRIED && this.#abandoned > 0) {
      this.#abandoned--;
      return;
    }
    this.#abort = null;
    if (this.retryFailure(err, this.#abortedWith !== null)) return;
    this.#handler.onError?.(err);
  }
}
