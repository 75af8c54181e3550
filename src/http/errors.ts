import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { EphemeralUnavailableError } from '../../adapters/ephemeral.js';
import { StoreUnavailableError } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import { renderPage, type PageTenant } from './views.js';

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof StoreUnavailableError || error instanceof EphemeralUnavailableError) {
    return new AppError('store_unavailable', 'The service is temporarily unavailable. Please try again shortly.', { cause: error });
  }
  const status = (error as { status?: number }).status;
  const expose = (error as { expose?: boolean }).expose;
  if (status === 413) return new AppError('payload_too_large', 'The request body is too large.');
  if (status && status >= 400 && status < 500 && expose) return new AppError('invalid_request', (error as Error).message, { status });
  // Body parsers mark malformed input (bad JSON, bad encoding) 4xx without exposing their message.
  if (status && status >= 400 && status < 500) return new AppError('invalid_request', 'The request body could not be read: it is malformed.', { status });
  return new AppError('server_error', 'Something went wrong on our side. Please try again.', { cause: error });
}

/** How one surface answers an error: the status and headers are set, the body is the presenter's. */
export type ErrorPresenter = (ctx: Context, error: AppError) => Promise<void> | void;

/** `{"error", "error_description"}`: APIs, whatever the client accepts. */
export const jsonErrors: ErrorPresenter = (ctx, error) => {
  ctx.body = { error: error.code, error_description: error.message };
};

/** The branded error page for browsers, JSON for everything else: the default, for pages and protocol paths. */
export const pageOrJsonErrors: ErrorPresenter = async (ctx, error) => {
  if (ctx.accepts(['json', 'html']) !== 'html') return jsonErrors(ctx, error);
  ctx.type = 'html';
  const tenant = ctx.state.tenant as PageTenant | undefined;
  ctx.body = await renderPage('error', {
    title: 'Error',
    tenant: tenant ?? { id: '', name: 'Gatehouse' },
    requestId: ctx.state.requestId as string,
    heading: error.status >= 500 ? 'Something went wrong' : 'This request cannot be completed',
    message: error.message,
    status: error.status,
    backUrl: error.link?.href,
    backLabel: error.link?.label,
  });
};

/**
 * A surface's router runs this first to choose how errors thrown below it are answered (the admin
 * API: always JSON). Requests no router took keep {@link pageOrJsonErrors}.
 */
export function presentErrorsWith(presenter: ErrorPresenter): Middleware {
  return (ctx, next) => {
    ctx.state.errorPresenter = presenter;
    return next();
  };
}

/**
 * Turns anything thrown below into an answer in the format of the surface that was handling the
 * request ({@link presentErrorsWith}). Unexpected errors are logged with their stack and shown
 * only as a reference.
 */
export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const error = toAppError(thrown);
      const log = ctx.state.log as Logger | undefined;
      if (error.status >= 500) log?.error({ err: error.cause ?? error, code: error.code }, 'request failed');
      else log?.info({ code: error.code, reason: error.message }, 'request refused');
      ctx.status = error.status;
      if (error.code === 'too_many_requests' && !ctx.response.get('Retry-After')) ctx.set('Retry-After', '60');
      const present = (ctx.state.errorPresenter as ErrorPresenter | undefined) ?? pageOrJsonErrors;
      await present(ctx, error);
    }
  };
}
