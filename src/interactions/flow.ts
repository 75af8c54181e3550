import type { AppContext } from '../app-context.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { finishLogin, refuseUnmet } from './finish.js';
import { nextStep } from './policy.js';
import { policyInputOf } from './policy-input.js';
import { readState, saveState, type LoginState } from './state.js';
import type { Decided, InteractionDetails, StepContext } from './step.js';

/** The policy's input and decision for an interaction in the state it is in now. */
export async function decide(app: AppContext, tenant: TenantContext, interaction: InteractionDetails, state = readState(interaction)): Promise<Decided> {
  const input = await policyInputOf(app, tenant, interaction, state);
  return { input, decision: nextStep(input) };
}

/**
 * After a step proved something: asks the policy again with the new state. The login finishes (or
 * is refused as unmet) at once; otherwise the state is kept on the interaction and the browser goes
 * to the interaction's URL, which shows the step due now.
 */
export async function continueWith(step: StepContext, state: LoginState): Promise<void> {
  const { decision } = await decide(step.app, step.tenant, step.interaction, state);
  if (decision.kind === 'finish') return finishLogin(step, decision);
  if (decision.kind === 'unmet') return refuseUnmet(step, decision.description);
  await saveState(step.interaction, state);
  step.ctx.status = 303;
  step.ctx.redirect(step.base);
}
