import { ABORTED } from '../../oidc/pages.js';
import type { StepContext } from '../step.js';

/** The user cancelled: the client gets `access_denied` at its redirect URI (RFC 6749 4.1.2.1). */
export async function abort(step: StepContext): Promise<void> {
  step.verifyForm();
  await step.finish({ ...ABORTED }, false);
}
