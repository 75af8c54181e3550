/**
 * The acr values Gatehouse issues and accepts, lowest first. Only the names live here, at the bottom
 * of the folders, so client metadata and tenant rules can validate against them; what they mean
 * (which factors earn which value) is `authn/assurance.ts`. docs/mfa.md lists them.
 *
 * Established names where they exist: REFEDS's single-factor profile (there is no PAPE policy for
 * "one factor"), and the OpenID PAPE multi-factor and phishing-resistant policy URIs.
 */
export const ACR = {
  singleFactor: 'https://refeds.org/profile/sfa',
  multiFactor: 'http://schemas.openid.net/pape/policies/2007/06/multi-factor',
  phishingResistant: 'http://schemas.openid.net/pape/policies/2007/06/phishing-resistant',
} as const;

export type Acr = (typeof ACR)[keyof typeof ACR];

/** Lowest first: a value satisfies every value at or below it. */
export const acrValues = [ACR.singleFactor, ACR.multiFactor, ACR.phishingResistant] as const;

/** A tenant's `security_policy.mfa`: factors never asked, asked of users who enrolled one (the default), or asked of everyone. */
export type MfaMode = 'off' | 'optional' | 'required';
