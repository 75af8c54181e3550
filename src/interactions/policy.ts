import type { InteractionDetails } from './step.js';

/**
 * A first factor verified without finishing the login, kept on the interaction (server side, as
 * its `result`) until the steps still owed are done; only then is `login` handed to the provider.
 */
export interface LoginProgress {
  accountId: string;
  amr: string[];
  /** steps owed before the login may finish, in order */
  pending: Array<'change-password'>;
  /**
   * A fingerprint of the password hash that was verified: if an admin resets the password while the
   * login is half done, the recorded progress no longer counts.
   */
  credential?: string;
}

/** The progress a step recorded on this interaction, if any. */
export function progressOf(interaction: InteractionDetails): LoginProgress | undefined {
  const progress = (interaction.result as { progress?: LoginProgress } | undefined)?.progress;
  return typeof progress?.accountId === 'string' && Array.isArray(progress.pending) ? progress : undefined;
}

/**
 * Decides which step an interaction needs next. Today: the provider's `login` prompt is the
 * password step and `consent` is the consent step. Second factors (TOTP, SMS, WebAuthn) slot in
 * here: once the first factor is recorded on the interaction, the policy asks for the factor the
 * tenant, client or `acr_values` require before the login is finished.
 */
export function nextStep(interaction: InteractionDetails): 'login' | 'change-password' | 'consent' {
  switch (interaction.prompt.name) {
    case 'login':
      return progressOf(interaction)?.pending[0] ?? 'login';
    case 'consent':
      return 'consent';
    default:
      // oidc-provider only has login and consent prompts unless configured otherwise.
      throw new Error(`unsupported prompt ${interaction.prompt.name}`);
  }
}
