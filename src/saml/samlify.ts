import { createRequire } from 'node:module';
import { samlProtocolSchema, schemaProblems, type SchemaFiles } from './schema.js';

/**
 * The one module that loads samlify. samlify keeps its schema validator in module-global state
 * (`setSchemaValidator`); setting it here, once, when samlify is first loaded, means no caller can
 * forget it or replace it from elsewhere (Logto set it from several places). Every message samlify
 * parses is validated against the SAML 2.0 protocol schema; our own handlers validate explicitly
 * as well, before samlify sees a message.
 *
 * samlify is loaded without its typings, which import @xmldom/xmldom's and with them TypeScript's
 * DOM library for the whole program (see xml.ts); the members we use are typed below.
 */

export interface IdpMetadataOptions {
  entityID: string;
  /** PEM certificates, each published as a signing KeyDescriptor */
  signingCert: string[];
  wantAuthnRequestsSigned: boolean;
  nameIDFormat: string[];
  singleSignOnService: Array<{ Binding: string; Location: string }>;
  singleLogoutService: Array<{ Binding: string; Location: string }>;
  /** child elements of IDPSSODescriptor in the order the metadata schema requires */
  elementsOrder: string[];
}

export interface SamlifyEntity {
  getMetadata(): string;
  entityMeta: { getEntityID(): string };
}

export interface Samlify {
  IdentityProvider(options: IdpMetadataOptions | { metadata: string }): SamlifyEntity;
  ServiceProvider(options: Record<string, unknown>): SamlifyEntity;
  setSchemaValidator(validator: { validate(xml: string): Promise<unknown> }): void;
}

/** Rejects a message that is not valid against the schema; samlify turns the rejection into its own failure. */
export function schemaValidator(schema: SchemaFiles): { validate(xml: string): Promise<true> } {
  return {
    async validate(xml) {
      const problems = await schemaProblems(xml, schema);
      if (problems.length) throw new Error(`ERR_SCHEMA_VALIDATION: ${problems.slice(0, 3).join('; ')}`);
      return true;
    },
  };
}

const loaded = createRequire(import.meta.url)('samlify') as Samlify;
loaded.setSchemaValidator(schemaValidator(samlProtocolSchema()));

export const samlify: Samlify = loaded;
