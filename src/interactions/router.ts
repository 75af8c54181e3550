import Router from '@koa/router';
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { AppError } from '../errors.js';
import { formBody } from '../http/forms.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { nextStep } from './policy.js';
import { clientOfInteraction, rememberClient, startAgainUrl } from './start-again.js';
import { StepContext, type InteractionStep } from './step.js';
import { abort } from './steps/abort.js';
import { changePasswordStep } from './steps/change-password.js';
import { consentStep } from './steps/consent.js';
import { passwordStep } from './steps/password.js';

const steps: Record<string, InteractionStep> = {
  [passwordStep.name]: passwordStep,
  [changePasswordStep.name]: changePasswordStep,
  [consentStep.name]: consentStep,
};

/** The expired-page error, with a way to start again where the client registered one. */
async function expired(ctx: Context, tenant: TenantContext, message: string): Promise<AppError> {
  const href = await startAgainUrl(tenant, await clientOfInteraction(ctx, tenant, ctx.params['uid']));
  return new AppError('interaction_expired', message, { link: href ? { href, label: 'Start again' } : undefined });
}

/** Loads the interaction this browser is in; it must be the one named in the URL. */
async function load(ctx: Context, app: AppContext): Promise<StepContext> {
  const tenant = ctx.state.tenant as TenantContext;
  let interaction;
  try {
    interaction = await tenant.provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if (error instanceof errors.SessionNotFound) {
      throw await expired(ctx, tenant, 'This sign-in page has expired or was opened in another browser. Go back to the application and sign in again.');
    }
    throw error;
  }
  if (interaction.uid !== ctx.params['uid']) {
    throw await expired(ctx, tenant, 'This sign-in page does not belong to your current sign-in. Go back to the application and sign in again.');
  }
  const step = new StepContext(ctx, app, tenant, interaction);
  rememberClient(ctx, tenant, step.base, String(interaction.params['client_id']), app.config.publicUrl.startsWith('https:'));
  return step;
}

/** Where under a tenant the login pipeline's pages are (`tenant-routes.ts`). */
export const interactionRoot = '/interaction';

/**
 * The login pipeline's routes. GET shows whichever step the policy wants; each POST goes to the
 * step named in the URL, which must also be the step the policy wants now (no skipping ahead).
 */
export function interactionRouter(app: AppContext): Router {
  const router = new Router({ prefix: `/t/:tenant${interactionRoot}/:uid` });
  const body = formBody(app.config.http.bodyLimit);

  router.get('/', async (ctx) => {
    const step = await load(ctx, app);
    await steps[nextStep(step.interaction)]!.render(step);
  });

  // A GET on a step's POST URL is a reload (or a restored tab) after a POST, e.g. a wrong password:
  // send the browser to the interaction's own URL, which shows whatever step is due now.
  router.get('/:step', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${new URL((ctx.state.tenant as TenantContext).issuer).pathname}/interaction/${encodeURIComponent(ctx.params['uid']!)}`);
  });

  router.post('/abort', body, async (ctx) => {
    await abort(await load(ctx, app));
  });

  router.post('/:step', body, async (ctx) => {
    const step = await load(ctx, app);
    const wanted = nextStep(step.interaction);
    if (ctx.params['step'] !== wanted) {
      throw new AppError('invalid_request', 'This step is not the one your sign-in needs now. Go back and reload the page.');
    }
    await steps[wanted]!.submit(step);
  });

  return router;
}
