import { displayName } from '../../oidc/claims.js';
import type { InteractionStep, StepContext } from '../step.js';

const scopeDescriptions: Record<string, string> = {
  openid: 'Sign you in with your account',
  profile: 'See your name and username',
  email: 'See your e-mail address',
  phone: 'See your phone number',
  roles: 'See your roles in this organisation',
  offline_access: 'Keep access while you are not using the app',
};

type Missing = { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };

function missingOf(step: StepContext): Missing {
  return step.interaction.prompt.details as Missing;
}

/** Grants what the client asked for and the user has not granted yet, then ends the interaction. */
async function grant(step: StepContext): Promise<void> {
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
  await step.finish({ consent: existing ? {} : { grantId } });
}

/**
 * Consent: the user sees which scopes and claims the client wants and allows or denies. First-party
 * clients (`first_party: true`) are the operator's own apps and skip the page.
 */
export const consentStep: InteractionStep = {
  name: 'consent',

  async render(step) {
    const client = await step.clientName();
    if (client.firstParty) return grant(step);
    const missing = missingOf(step);
    const resourceScopes = Object.entries(missing.missingResourceScopes ?? {}).flatMap(([indicator, scopes]) =>
      scopes.map((name) => ({ name, description: `${name} on ${indicator}` })),
    );
    const scopes = [
      ...(missing.missingOIDCScope ?? []).map((name) => ({ name, description: scopeDescriptions[name] ?? name })),
      ...resourceScopes,
    ];
    const account = step.interaction.session?.accountId ? await step.app.users.findById(step.tenant.id, step.interaction.session.accountId) : null;
    await step.render('consent', 'Allow access', {
      action: `${step.base}/consent`,
      client,
      user: { name: (account && (displayName(account) ?? account.username)) ?? 'you' },
      scopes,
      claims: missing.missingOIDCClaims ?? [],
    });
  },

  async submit(step) {
    step.verifyForm();
    await grant(step);
  },
};
