import { adminApiIdentifier, adminScopes } from '../../domain/admin-api.js';
import { scopeDescriptions } from '../../domain/scope-descriptions.js';
import type { StepContext } from '../step.js';


/** What the consent prompt found missing from the grant (oidc-provider's prompt details). */
export interface Missing {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export interface ScopeLine {
  name: string;
  /** what the user reads; the registered description, or the name when there is none */
  description: string;
}

/** An API the client asks to use on the user's behalf, by its registered name. */
export interface ApiLines {
  name: string;
  identifier: string;
  scopes: ScopeLine[];
}

export function missingOf(step: StepContext): Missing {
  return step.interaction.prompt.details as Missing;
}

/** Name and scope descriptions of an API as registered (the admin API is built in). */
async function registeredApi(step: StepContext, identifier: string): Promise<{ name: string; scopes: Map<string, string | undefined> } | undefined> {
  if (identifier === adminApiIdentifier(new URL(step.tenant.issuer).origin)) {
    return { name: 'Gatehouse admin API', scopes: new Map(Object.entries(adminScopes)) };
  }
  const api = await step.app.resources.find(step.tenant.id, identifier);
  return api ? { name: api.name, scopes: new Map(api.scopes.map((scope) => [scope.name, scope.description])) } : undefined;
}

/** The lines of the consent page: OIDC scopes, then each API with its scopes. */
export async function consentLines(step: StepContext, missing: Missing): Promise<{ scopes: ScopeLine[]; apis: ApiLines[] }> {
  const scopes = (missing.missingOIDCScope ?? []).map((name) => ({ name, description: scopeDescriptions[name] ?? name }));
  const apis = await Promise.all(
    Object.entries(missing.missingResourceScopes ?? {}).map(async ([identifier, names]) => {
      const api = await registeredApi(step, identifier);
      return { name: api?.name ?? identifier, identifier, scopes: names.map((name) => ({ name, description: api?.scopes.get(name) || name })) };
    }),
  );
  return { scopes, apis };
}
