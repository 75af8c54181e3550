import type { AppContext } from '../app-context.js';
import { acrValuesOf, essentialAcrOf, isAcr, type FactorType } from '../authn/assurance.js';
import { registrationOf } from '../domain/registration.js';
import { mfaPolicyOf } from '../domain/tenants.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import type { PolicyInput } from './policy.js';
import type { LoginState } from './state.js';
import type { InteractionDetails } from './step.js';

/** The factor types an account holds (one store read; never secrets). */
async function enrolledOf(app: AppContext, tenant: TenantContext, accountId: string | undefined): Promise<FactorType[]> {
  if (!accountId) return [];
  return [...new Set((await app.mfa.factors.list(tenant.id, accountId)).map((factor) => factor.type))];
}

async function mustVerifyEmail(app: AppContext, tenant: TenantContext, accountId: string): Promise<boolean> {
  const user = await app.users.findById(tenant.id, accountId);
  return Boolean(user?.verifyEmailFirst && user.email && !user.emailVerified);
}

/** Reads what the policy decides on: the interaction, its client, the tenant's policy and the account's factors. */
export async function policyInputOf(app: AppContext, tenant: TenantContext, interaction: InteractionDetails, state: LoginState): Promise<PolicyInput> {
  const { params, prompt, session } = interaction;
  const client = await tenant.clients.find(String(params['client_id']));
  const minimum = client?.['minimum_acr'];
  const policy = mfaPolicyOf(tenant.settings.securityPolicy);
  const essentialAcr = essentialAcrOf(params['claims']);
  const accountId = state.accountId ?? session?.accountId;
  const registration = registrationOf(tenant.settings.securityPolicy);
  return {
    prompt: { name: prompt.name, reasons: prompt.reasons },
    request: { acrValues: acrValuesOf(params['acr_values']), ...(essentialAcr ? { essentialAcr } : {}), promptLogin: typeof params['prompt'] === 'string' && params['prompt'].split(' ').includes('login') },
    ...(session?.accountId ? { session: { accountId: session.accountId, amr: session.amr ?? [] } } : {}),
    state,
    tenant: { ...policy, signUp: registration.enabled },
    client: isAcr(minimum) ? { minimumAcr: minimum } : {},
    // Only a login needs them (the consent prompt comes after it): no store read otherwise. A
    // sign-up prompt (`create`) is a login too: its user may sign in to an existing account instead.
    enrolled: policy.mfa === 'off' || prompt.name === 'consent' ? [] : await enrolledOf(app, tenant, accountId),
    // One user read, only where the tenant verifies the e-mail of new accounts.
    ...(registration.verifyEmail && state.accountId && prompt.name !== 'consent' ? { mustVerifyEmail: await mustVerifyEmail(app, tenant, state.accountId) } : {}),
  };
}
