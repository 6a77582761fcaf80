/**
 * Pod labels for endpoints (`--pod-labels version,tier`): EndpointSlices do not carry the labels of
 * their pods, so discovery also follows the pods, and each endpoint takes the chosen labels of the
 * pod it is named by. Pure: no I/O.
 *
 * Which pods: those the Service's own `spec.selector` selects, the pods its EndpointSlices are
 * made from, rather than every pod of the namespace, which can be many times more to hold and
 * watch. A Service without a selector has its slices written by hand; its pods are then not known
 * by any label, so every pod of the namespace is followed.
 */
import type { EndpointSpec } from '../../balancer/endpoint.js';

export interface Pod {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string; readonly labels?: Readonly<Record<string, string>> | null };
}

export interface Service {
  readonly spec?: { readonly selector?: Readonly<Record<string, string>> | null } | null;
}

/** The label selector (`app=web,tier=db`) of the pods behind `service`; empty selects them all. */
export function podSelectorOf(service: Service): string {
  return Object.entries(service.spec?.selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The endpoints, each with the labels named in `keys` that its pod has (an endpoint is named by its
 * pod, see endpoint-slice.ts). An endpoint whose pod is not known (yet) keeps no labels and stays:
 * a pod seen late must not take its endpoint out of service meanwhile.
 */
export function withPodLabels(endpoints: readonly EndpointSpec[], pods: ReadonlyMap<string, Pod>, keys: readonly string[]): EndpointSpec[] {
  return endpoints.map((ep) => {
    const podLabels = pods.get(ep.name)?.metadata.labels ?? null;
    if (podLabels === null) return ep;
    const labels: Record<string, string> = {};
    for (const k of keys) {
      const v = podLabels[k];
      if (v !== undefined) labels[k] = v;
    }
    return { ...ep, labels };
  });
}
