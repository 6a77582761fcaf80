/**
 * The probe paths the admin listener (`--admin HOST:PORT`) answers, for Kubernetes' liveness and
 * readiness probes. Liveness says only that the process serves; readiness says whether it routes.
 */
export const LIVENESS_PATH = '/healthz';
export const READINESS_PATH = '/readyz';
export const PROBE_PATHS: readonly string[] = [LIVENESS_PATH, READINESS_PATH];
