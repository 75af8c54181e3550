import type { Acr, Amr } from '../authn/assurance.js';
import { accountAuditEvents } from '../domain/audit.js';
import { rememberDevice } from '../http/known-device.js';
import type { StepContext } from './step.js';

/** What a sign-in event keeps of the browser: enough for its owner to recognise it, bounded. */
export function browserOf(step: StepContext): { ip: string; user_agent: string } {
  return { ip: step.ctx.ip, user_agent: step.ctx.get('user-agent').slice(0, 256) };
}

/**
 * Finishes a login: the only place that hands `login` to the provider, so every login carries the
 * `amr` the policy computed from the factors proven and the `acr` they earn. The provider keeps both
 * on the session and puts them in ID tokens; `auth_time` becomes now (see docs/mfa.md).
 */
export async function finishLogin(step: StepContext, login: { accountId: string; amr: Amr[]; acr: Acr }): Promise<void> {
  // The browser becomes a known device of the account (its own wrong-password and wrong-code
  // budgets) only once the whole login succeeded: were it remembered after the password alone,
  // someone who knows the password could get a fresh code budget with every new browser.
  rememberDevice(step.ctx, step.tenant, login.accountId, step.app.clock(), step.app.config.publicUrl.startsWith('https:'));
  // `create`: a `prompt=create` is answered by this login too, whether the user signed up or signed
  // in to an account they had (Initiating User Registration 1.0 lets the OP offer both).
  const created = step.interaction.prompt.name === 'create' ? { create: {} } : {};
  await step.finish({ login: { accountId: login.accountId, amr: login.amr, acr: login.acr }, ...created }, false);
  // The owner's "Recent activity" and the operators' trail (docs/accounts.md).
  await step.app.audit.record({
    tenant: step.tenant.id,
    type: accountAuditEvents.signedIn,
    actor: { type: 'user', id: login.accountId, tenant: step.tenant.id },
    target: { type: 'user', id: login.accountId },
    details: { client_id: String(step.interaction.params['client_id'] ?? ''), amr: login.amr, acr: login.acr, ...browserOf(step) },
    ...(typeof step.ctx.state.requestId === 'string' ? { requestId: step.ctx.state.requestId } : {}),
  });
}

/** The request asks for what no step can give: the client gets `unmet_authentication_requirements`. */
export async function refuseUnmet(step: StepContext, description: string): Promise<void> {
  await step.finish({ error: 'unmet_authentication_requirements', error_description: description }, false);
}
