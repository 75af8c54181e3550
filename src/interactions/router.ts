import Router from '@koa/router';
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { AppError } from '../errors.js';
import { jsonErrors, presentErrorsWith } from '../http/errors.js';
import { formBody } from '../http/forms.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { finishLogin, refuseUnmet } from './finish.js';
import { continueWith, decide } from './flow.js';
import { stepNames, type StepName } from './policy.js';
import { steps } from './registry.js';
import { clientOfInteraction, rememberClient, startAgainUrl } from './start-again.js';
import { StepContext } from './step.js';
import { abort } from './steps/abort.js';

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
  const step = new StepContext(ctx, app, tenant, interaction, await decide(app, tenant, interaction), continueWith);
  rememberClient(ctx, tenant, step.base, String(interaction.params['client_id']), app.config.publicUrl.startsWith('https:'));
  return step;
}

/** The steps the policy accepts now: the one it wants, and the alternatives it offers (a recovery code instead of TOTP). */
function accepted(step: StepContext): readonly StepName[] {
  const { decision } = step.decided;
  return decision.kind === 'step' ? [decision.step, ...decision.alternatives] : [];
}

/** Shows the step due now, or ends the interaction when nothing is (already proven enough, or never can be). */
async function show(step: StepContext, name?: StepName): Promise<void> {
  const { decision } = step.decided;
  if (decision.kind === 'finish') return finishLogin(step, decision);
  if (decision.kind === 'unmet') return refuseUnmet(step, decision.description);
  await steps[name ?? decision.step].render(step);
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
    await show(await load(ctx, app));
  });

  // A step the policy accepts now is shown at its own URL: an alternative it offers (a link: "use a
  // recovery code"), or the step itself on a reload after a POST (a wrong password). Any other GET
  // on a step's URL (a restored tab) goes to the interaction's own URL, which shows the step due now.
  router.get('/:step', async (ctx) => {
    const name = stepNames.find((candidate) => candidate === ctx.params['step']);
    if (name) {
      const step = await load(ctx, app);
      if (accepted(step).includes(name)) return show(step, name);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${new URL((ctx.state.tenant as TenantContext).issuer).pathname}/interaction/${encodeURIComponent(ctx.params['uid']!)}`);
  });

  router.post('/abort', body, async (ctx) => {
    await abort(await load(ctx, app));
  });

  // The WebAuthn options of a step the policy accepts now, as JSON for the page's script. A POST
  // with the form's CSRF token: it makes a challenge, replacing the step's pending one.
  router.post('/:step/options', presentErrorsWith(jsonErrors), body, async (ctx) => {
    const step = await load(ctx, app);
    const wanted = accepted(step).find((name) => name === ctx.params['step']);
    const options = wanted ? steps[wanted].options : undefined;
    if (!options) throw new AppError('invalid_request', 'This step is not the one your sign-in needs now. Go back and reload the page.');
    step.verifyForm();
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await options(step);
  });

  router.post('/:step', body, async (ctx) => {
    const step = await load(ctx, app);
    const wanted = accepted(step).find((name) => name === ctx.params['step']);
    if (!wanted) {
      throw new AppError('invalid_request', 'This step is not the one your sign-in needs now. Go back and reload the page.');
    }
    await steps[wanted].submit(step);
  });

  return router;
}
