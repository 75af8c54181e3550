import type { InteractionDetails } from './step.js';

/**
 * Decides which step an interaction needs next. Today: the provider's `login` prompt is the
 * password step and `consent` is the consent step. Second factors (TOTP, SMS, WebAuthn) slot in
 * here: once the first factor is recorded on the interaction, the policy asks for the factor the
 * tenant, client or `acr_values` require before the login is finished.
 */
export function nextStep(interaction: InteractionDetails): 'login' | 'consent' {
  switch (interaction.prompt.name) {
    case 'login':
      return 'login';
    case 'consent':
      return 'consent';
    default:
      // oidc-provider only has login and consent prompts unless configured otherwise.
      throw new Error(`unsupported prompt ${interaction.prompt.name}`);
  }
}
