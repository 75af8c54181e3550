import { createHmac, randomBytes } from 'node:crypto';
import { nameIdFormats, type SamlApp } from '../domain/saml-apps.js';
import type { User } from '../domain/users.js';

export interface IssuedNameId {
  value: string;
  format: string;
  nameQualifier?: string;
  spNameQualifier?: string;
}

/** Why no NameID can be issued: answered to the app as `InvalidNameIDPolicy`. */
export class NameIdPolicyError extends Error {
  override readonly name = 'NameIdPolicyError';
}

/**
 * The format of the NameID for this request: the one the app asks for in `NameIDPolicy` when the
 * app is registered for it (else refused), or the app's first registered format. `unspecified`
 * asks for nothing in particular.
 */
export function chooseFormat(app: SamlApp, requested: string | undefined): string {
  if (requested === undefined || requested === nameIdFormats.unspecified) return app.nameIdFormats[0] ?? nameIdFormats.unspecified;
  if (!(app.nameIdFormats as readonly string[]).includes(requested)) throw new NameIdPolicyError(`this app is not registered for NameID format ${requested}`);
  return requested;
}

/**
 * The NameID of `user` for `app` in `format` (docs/saml.md):
 * - e-mail: the user's address (refused when they have none);
 * - persistent: an HMAC of the app's entity ID and the user's id under a key derived from the
 *   master key: the same for one user and one app every time, different for every app (pairwise,
 *   so two apps cannot join their users), and not the internal user id; with `NameQualifier` (the
 *   IdP) and `SPNameQualifier` (the app);
 * - transient: random for each assertion;
 * - unspecified: the username.
 */
export function nameIdFor(user: User, app: SamlApp, format: string, context: { pairwiseKey: Buffer; idpEntityId: string }): IssuedNameId {
  switch (format) {
    case nameIdFormats.email:
      if (!user.email) throw new NameIdPolicyError('the account has no e-mail address for an e-mail NameID');
      return { value: user.email, format };
    case nameIdFormats.persistent:
      return {
        value: createHmac('sha256', context.pairwiseKey).update(`${user.tenant}\0${app.entityId}\0${user._id}`).digest('base64url'),
        format,
        nameQualifier: context.idpEntityId,
        spNameQualifier: app.entityId,
      };
    case nameIdFormats.transient:
      return { value: `_${randomBytes(20).toString('hex')}`, format, nameQualifier: context.idpEntityId, spNameQualifier: app.entityId };
    default:
      return { value: user.username, format: nameIdFormats.unspecified };
  }
}
