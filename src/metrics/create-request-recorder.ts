/**
 * The RequestRecorder of one routing thread, from the parsed config: the thread's metrics over its
 * data plane, the access log at its destination (stdout, or a file appended to by every thread
 * with whole-line writes), and the gateway-error log on the thread's logger.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { entropyRng } from '../balancer/rng.js';
import type { AccessLogConfig } from '../config/config.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { AccessLog } from './access-log.js';
import { GatewayErrorLog } from './gateway-error-log.js';
import { RequestRecorder } from './request-recorder.js';
import { ThreadMetrics } from './thread-metrics.js';

export function createRequestRecorder(config: AccessLogConfig, plane: DataPlane, logger: Logger): RequestRecorder {
  const destination = config.destination === 'stdout' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: config.destination, append: true, mkdir: true, sync: true });
  // A log that cannot be written (a full disk) must not end the process: it says so and goes on.
  destination.on('error', (err: Error) => logger.error({ err }, 'the access log cannot be written'));
  // `log: "access"` tells its lines from the process's own when both go to stdout.
  const accessLogger = pino({ base: { log: 'access' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const accessLog = new AccessLog(accessLogger, entropyRng(), { enabled: config.enabled, sampleRate: config.sampleRate });
  return new RequestRecorder(plane.clock, new ThreadMetrics(plane), accessLog, new GatewayErrorLog(logger, plane.clock));
}
