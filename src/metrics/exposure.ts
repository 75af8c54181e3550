import type { AppContext } from '../app-context.js';
import type { TenantPool } from '../tenancy/pool.js';
import { startMetricsListener, type MetricsListener } from './listener.js';

/**
 * How `/metrics` is served on the main port, if at all: never when disabled or on a port of its
 * own; behind the token when there is one; otherwise only outside production, to loopback peers.
 */
export function mainPortExposure(config: AppContext['config']): { token?: string; loopbackOnly: boolean } | undefined {
  const { enabled, port, token } = config.metrics;
  if (!enabled || port !== undefined) return undefined;
  if (token !== undefined) return { token, loopbackOnly: false };
  return config.env === 'production' ? undefined : { loopbackOnly: true };
}

/** Process and pool metrics for a serving process, and the metrics listener when `metrics.port` is set. */
export async function startMetrics(app: AppContext, pool: TenantPool): Promise<MetricsListener | undefined> {
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
