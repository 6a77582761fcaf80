/**
 * A routed request whose caller speaks undici's controller API (onRequestStart,
 * onResponseStart...): the handler the pick and retry interceptors put between an endpoint's pool
 * and the caller's handler, in a composed chain. When the retry interceptor made it, a failed
 * attempt re-enters the chain below that interceptor with this object as the handler, and the
 * pick interceptor picks again.
 *
 * Callbacks of an abandoned attempt (a 5xx answer retried elsewhere) carry that attempt's
 * controller and are ignored. The caller's handler sees `onRequestStart` once per attempt, as
 * undici's own retry handler does, so its abort always reaches the attempt under way; everything
 * else it sees once. An attempt the caller aborted (its controller says so) is `cancelled` and is
 * never retried.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { RoutedService } from './routed-request.js';
import { RoutedRequest } from './routed-request.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

// One instance for every abandoned attempt: undici only hands it back to onResponseError.
const RETRIED = new errors.RequestAbortedError('the attempt is retried on another endpoint');

export class ControllerRequest extends RoutedRequest implements Handler {
  readonly #handler: Handler;
  /** The chain under the retry interceptor, for a retry; null when retries are off. */
  readonly #dispatch: Dispatcher.Dispatch | null;
  #stale: Controller | null = null;

  constructor(service: RoutedService, opts: Dispatcher.DispatchOptions, handler: Handler, dispatch: Dispatcher.Dispatch | null) {
    super(service, opts);
    this.#handler = handler;
    this.#dispatch = dispatch;
  }

  protected get retryable(): boolean {
    return this.#dispatch !== null;
  }

  protected redispatch(): void {
    this.#dispatch!(this.opts, this);
  }

  protected fail(error: Error): void {
    this.#handler.onResponseError?.(null as unknown as Controller, error);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    if (controller === this.#stale) return;
    this.started = true;
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (controller === this.#stale) return;
    this.responded = true;
    this.status = statusCode;
    this.finished();
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (controller === this.#stale) return;
    if (statusCode >= 500 && !this.responded && this.retryable) {
      this.#stale = controller;
      if (this.retryAnswer(statusCode)) {
        controller.abort(RETRIED);
        return;
      }
      this.#stale = null;
    }
    this.status = statusCode;
    if (statusCode >= 200) this.responded = true;
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (controller === this.#stale) return;
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    if (controller === this.#stale) return;
    this.finished();
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller | null | undefined, err: Error): void {
    if (controller !== null && controller !== undefined && controller === this.#stale) return;
    // A controller the caller aborted: nobody is listening, no retry.
    if (controller !== null && controller !== undefined) this.#stale = controller;
    if (this.retryFailure(err, controller?.aborted === true)) return;
    this.#handler.onResponseError?.(controller as Controller, err);
  }
}
