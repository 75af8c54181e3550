import { rememberConsent } from '../../oidc/grants.js';
import { displayName } from '../../oidc/claims.js';
import type { InteractionStep, StepContext } from '../step.js';
import { consentLines, missingOf } from './consent-details.js';

/**
 * Grants what the client asked for and the user has not granted yet, then ends the interaction.
 * What the user allowed on the page (`remember`) is kept for the next sign-in to this client.
 */
async function grant(step: StepContext, remember: boolean): Promise<void> {
  const { provider } = step.tenant;
  const { interaction } = step;
  const accountId = interaction.session?.accountId;
  if (!accountId) throw new Error('consent prompt without a signed-in session');
  const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  const record = existing ?? new provider.Grant({ accountId, clientId: String(interaction.params['client_id']) });
  const missing = missingOf(step);
  if (missing.missingOIDCScope) record.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) record.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    record.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await record.save();
  if (remember) {
    const { consents } = step.tenant;
    await rememberConsent({ tenant: step.tenant.id, clients: step.app.clients, consents }, record);
    // Checked after writing, so an admin disabling the account at this moment either finds the
    // record when ending its sessions (`end-sessions.ts`) or is seen here: it is never left behind.
    const account = await step.app.users.findById(step.tenant.id, accountId);
    if (!account || account.disabled) await consents.forget(accountId, String(record.clientId));
  }
  await step.finish({ consent: existing ? {} : { grantId } });
}

/**
 * Consent: the user sees which scopes and claims the client wants and allows or denies; only what
 * they have not allowed this client before is listed (`oidc/grants.ts`). First-party clients
 * (`first_party: true`) are the operator's own apps and skip the page.
 */
export const consentStep: InteractionStep<'consent'> = {
  name: 'consent',

  async render(step) {
    const client = await step.clientName();
    if (client.firstParty) return grant(step, false);
    const missing = missingOf(step);
    const { scopes, apis } = await consentLines(step, missing);
    const claims = missing.missingOIDCClaims ?? [];
    const account = step.interaction.session?.accountId ? await step.app.users.findById(step.tenant.id, step.interaction.session.accountId) : null;
    await step.render('consent', 'Allow access', {
      action: `${step.base}/consent`,
      client,
      user: { name: (account && (displayName(account) ?? account.username)) ?? 'you' },
      scopes,
      apis,
      claims,
      // The client asked again (prompt=consent) for nothing new.
      nothingNew: scopes.length === 0 && apis.length === 0 && claims.length === 0,
    });
  },

  async submit(step) {
    step.verifyForm();
    await grant(step, true);
  },
};
