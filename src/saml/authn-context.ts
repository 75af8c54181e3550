import { ACR, type Acr } from '../authn/assurance.js';
import type { AuthnRequestFields } from './inbound/authn-request.js';

/** SAML authentication context classes Gatehouse can meet, each with the acr that meets it (docs/saml.md). */
export const classes = {
  passwordProtectedTransport: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  password: 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password',
  unspecified: 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified',
  refedsSfa: 'https://refeds.org/profile/sfa',
  refedsMfa: 'https://refeds.org/profile/mfa',
} as const;

const levelOfClass: Readonly<Record<string, Acr>> = {
  [classes.passwordProtectedTransport]: ACR.singleFactor,
  [classes.password]: ACR.singleFactor,
  [classes.unspecified]: ACR.singleFactor,
  [classes.refedsSfa]: ACR.singleFactor,
  [classes.refedsMfa]: ACR.multiFactor,
  // Gatehouse's own acr values, for SPs that speak them.
  [ACR.multiFactor]: ACR.multiFactor,
  [ACR.phishingResistant]: ACR.phishingResistant,
};

const order: readonly Acr[] = [ACR.singleFactor, ACR.multiFactor, ACR.phishingResistant];
const rank = (acr: Acr) => order.indexOf(acr);

/** What a requested context asks of the sign-in, or that it cannot be met (`NoAuthnContext`). */
export type ContextRequirement = { met: true; acr?: Acr; accept: (earned: Acr) => string | undefined } | { met: false };

/** The class an assertion names for a sign-in that earned `acr`, when the SP asked for nothing. */
export function classOf(acr: Acr): string {
  return acr === ACR.singleFactor ? classes.passwordProtectedTransport : classes.refedsMfa;
}

/**
 * SAML Core 3.3.2.2.1's comparisons over the classes Gatehouse knows (unknown ones are ignored):
 * - `exact`: the sign-in must meet one of the listed classes; the assertion names that class;
 * - `minimum`: at least as strong as the weakest listed class;
 * - `better`: stronger than every listed class;
 * - `maximum`: no stronger than the strongest listed class (a stronger sign-in still meets it: the
 *   assertion then names the strongest listed class, which the sign-in also proved).
 * `acr` is what the login must reach; `accept` answers the class to put in the assertion for what
 * the sign-in earned, or undefined when that does not meet the request (checked again after the
 * login, whatever the login was asked for).
 */
export function requirementOf(requested: AuthnRequestFields['requestedAuthnContext']): ContextRequirement {
  if (!requested) return { met: true, accept: classOf };
  const known = requested.classRefs.filter((ref) => Object.hasOwn(levelOfClass, ref));
  if (known.length === 0) return { met: false };
  const levels = known.map((ref) => levelOfClass[ref]!);
  const weakest = levels.reduce((a, b) => (rank(a) <= rank(b) ? a : b));
  const strongest = levels.reduce((a, b) => (rank(a) >= rank(b) ? a : b));
  switch (requested.comparison) {
    case 'exact':
      return { met: true, acr: weakest, accept: (earned) => known.filter((ref) => rank(levelOfClass[ref]!) <= rank(earned)).sort((a, b) => rank(levelOfClass[b]!) - rank(levelOfClass[a]!))[0] };
    case 'minimum':
      return { met: true, acr: weakest, accept: (earned) => (rank(earned) >= rank(weakest) ? classOf(earned) : undefined) };
    case 'better': {
      const above = order[rank(strongest) + 1];
      if (!above) return { met: false };
      return { met: true, acr: above, accept: (earned) => (rank(earned) >= rank(above) ? classOf(earned) : undefined) };
    }
    case 'maximum':
      return { met: true, acr: weakest, accept: (earned) => known.filter((ref) => rank(levelOfClass[ref]!) <= rank(earned)).sort((a, b) => rank(levelOfClass[b]!) - rank(levelOfClass[a]!))[0] };
  }
}
