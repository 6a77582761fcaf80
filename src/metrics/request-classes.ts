/**
 * The bounded label values of a request: its method class and its response status class, as
 * small integers on the request path (indexes into per-endpoint count arrays) and as label text
 * at scrape time. Classes, not methods and codes, keep the series count fixed whatever clients
 * send: Envoy labels by status class too (`response_code_class`).
 */

/** `read`: GET, HEAD, OPTIONS, TRACE; `write`: POST, PUT, PATCH, DELETE; `other`: the rest. */
export const METHOD_CLASSES = Object.freeze(['read', 'write', 'other'] as const);

/** `none`: no response was sent (the client left first, or the response was cut before its head). */
export const CODE_CLASSES = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const);

export const CLASS_PAIRS = METHOD_CLASSES.length * CODE_CLASSES.length;

export function methodClass(method: string | undefined): number {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
      return 0;
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
      return 1;
    default:
      return 2;
  }
}

/** The class index of a status; 0 (no status) is `none`. */
export function codeClass(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
}

/** Index into a per-endpoint array of CLASS_PAIRS counts. */
export function classPair(method: string | undefined, status: number): number {
  return methodClass(method) * CODE_CLASSES.length + codeClass(status);
}
