import { signInKeys, signInPolicies } from '../authn/sign-in-throttle.js';
import { proofOfWorkOf } from '../domain/proof-of-work-settings.js';
import { proofOfWorkWidget, requireProofOfWork, type PowCheck, type PowWidget } from '../http/proof-of-work.js';
import type { StepContext } from './step.js';

/**
 * Proof of work at the password sign-in (`securityPolicy.proofOfWork.signInAfterFailures`): once
 * that many failures are counted for the typed identifier or for the client address (the
 * sign-in throttle's own buckets, authn/sign-in-throttle.ts), every further attempt needs a solved
 * challenge, checked before the attempt is counted. The identifier's bucket exists for unknown
 * identifiers too, so whether a challenge is asked tells nothing about whether an account exists.
 */
export async function signInProofOfWorkDue(step: StepContext, identifier: string | undefined): Promise<boolean> {
  const threshold = proofOfWorkOf(step.tenant.settings.securityPolicy?.proofOfWork).signInAfterFailures;
  if (threshold === null) return false;
  const { throttle } = step.app;
  const tenant = step.tenant.id;
  const [byAddress, byIdentifier] = await Promise.all([
    throttle.level(signInKeys.address(tenant, step.ctx.ip), signInPolicies.address),
    identifier ? throttle.level(signInKeys.identifier(tenant, identifier), signInPolicies.identifier) : Promise.resolve(0),
  ]);
  // A partly drained failure counts whole, as the throttle counts it.
  return Math.ceil(byAddress) >= threshold || Math.ceil(byIdentifier) >= threshold;
}

/** The widget of the sign-in form when a solution is due for this identifier and address. */
export async function signInProofOfWorkWidget(step: StepContext, identifier: string | undefined): Promise<PowWidget | undefined> {
  return (await signInProofOfWorkDue(step, identifier)) ? proofOfWorkWidget(step.tenant, 'sign_in') : undefined;
}

/** Checks (and uses up) the solution of a sign-in POST when one is due; passes when none is. */
export async function checkSignInProofOfWork(step: StepContext, identifier: string, fields: Record<string, unknown>): Promise<PowCheck> {
  if (!(await signInProofOfWorkDue(step, identifier))) return { ok: true };
  return requireProofOfWork(step.app.proofOfWork, step.tenant, 'sign_in', fields);
}
