/**
 * How a gRPC call's status counts for the data plane: the outcome its pick's `done` gets (latency
 * and failures for peak-EWMA) and the HTTP status passive health judges, as Envoy judges a gRPC
 * call (source/common/grpc/status.cc, grpcToHttpStatus, after grpc's
 * doc/http-grpc-status-mapping.md). A status the pod sent because of the request (NOT_FOUND,
 * INVALID_ARGUMENT, ...) is the pod working; UNKNOWN, INTERNAL, DATA_LOSS and UNIMPLEMENTED are
 * its failures (5xx); UNAVAILABLE, the status of a connection that broke under the call as of a
 * pod that said it cannot serve, counts as 503, and DEADLINE_EXCEEDED as a timeout (504). A call
 * the client CANCELLED says nothing about the pod. Lookups in a table: nothing is allocated.
 */
import { status } from '@grpc/grpc-js';
import type { Outcome } from '../../balancer/balancer.js';

/** Index: the gRPC status code (0 to 16). */
const HTTP_STATUS: readonly number[] = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

/** The HTTP status passive health counts a call that ended with `code` as; 500 for codes past the table. */
export function httpStatusOfCall(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

const CANCELLED: number = status.CANCELLED;
const DEADLINE_EXCEEDED: number = status.DEADLINE_EXCEEDED;

/** The outcome a call that ended with `code` ends its pick with. */
export function outcomeOfCall(code: number): Outcome {
  if (code === CANCELLED) return 'cancelled';
  if (code === DEADLINE_EXCEEDED) return 'timeout';
  return httpStatusOfCall(code) >= 500 ? 'http-5xx' : 'ok';
}
