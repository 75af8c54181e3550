import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** A well-formed incoming id (a proxy's, so it threads through the logs), or a new one. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && validRequestId.test(incoming) ? incoming : randomUUID();
}

/** Health probes and metric scrapes are logged at trace level so they do not drown the log. */
export function logRequest(log: Logger, fields: { method: string; path: string; status: number; ms: number; tenant?: string }): void {
  if (fields.path === '/healthz' || fields.path === '/readyz' || fields.path === '/metrics') log.trace(fields, 'request');
  else log.info(fields, 'request');
}

/**
 * Gives every request an id (a well-formed incoming `X-Request-Id` is kept, so a proxy's id
 * threads through) and a child logger carrying it; logs one line per request when it ends.
 */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const requestId = requestIdFor(ctx.get('x-request-id'));
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    // oidc-provider sees the same id: its pages and events read it from the request headers.
    ctx.req.headers['x-request-id'] = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      logRequest(ctx.state.log as Logger, {
        method: ctx.method,
        path: ctx.path,
        status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
        ms: Math.round(performance.now() - started),
        tenant: ctx.state.tenantId as string | undefined,
      });
    }
  };
}
