import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { startMetricsListener, type MetricsListener } from './listener.js';
import type { Metrics } from './metrics.js';

/**
 * How `/metrics` is served on the main port, if at all: never when disabled or on a port of its
 * own; behind the token when there is one; otherwise only outside production, to loopback peers.
 */
export function mainPortExposure(config: Config): { token?: string; loopbackOnly: boolean } | undefined {
  const { enabled, port, token } = config.metrics;
  if (!enabled || port !== undefined) return undefined;
  if (token !== undefined) return { token, loopbackOnly: false };
  return config.env === 'production' ? undefined : { loopbackOnly: true };
}

/**
 * Process and pool metrics for a serving process, and the metrics listener when `metrics.port` is
 * set. Takes what it uses rather than the app context and the pool, so `metrics/` depends on
 * nothing above it.
 */
export async function startMetrics(app: { config: Config; metrics: Metrics; logger: Logger }, pool: { readonly size: number }): Promise<MetricsListener | undefined> {
  const { enabled, port, host, token } = app.config.metrics;
  if (!enabled) return undefined;
  app.metrics.collectProcessMetrics();
  app.metrics.watch({ poolSize: () => pool.size });
  if (port !== undefined) return startMetricsListener(app.metrics, { host, port, token });
  if (token === undefined && app.config.env === 'production') {
    app.logger.warn('metrics are collected but not served: set metrics.port (GATEHOUSE_METRICS_PORT) for a listener of their own, or metrics.token (GATEHOUSE_METRICS_TOKEN) to serve /metrics on the main port behind a bearer token');
  }
  return undefined;
}
