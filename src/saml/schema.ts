import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { validateXML } from 'xmllint-wasm';

/** A schema to validate against: its main XSD and the files it imports. */
export interface SchemaFiles {
  main: { fileName: string; contents: string };
  preload: Array<{ fileName: string; contents: string }>;
}

/** xmllint's memory, in 64 KiB WebAssembly pages: 16 MiB, ample for one SAML message, and a bound. */
const MAX_MEMORY_PAGES = 256;

/** Reads a schema from a folder: the main file first, then the files it imports. */
export function schemaFilesIn(folder: string, main: string, imports: readonly string[]): SchemaFiles {
  const read = (fileName: string) => ({ fileName, contents: readFileSync(join(folder, fileName), 'utf8') });
  return { main: read(main), preload: imports.map(read) };
}

/**
 * The SAML 2.0 protocol schema (with assertion, XML-DSig and XML-Enc), as samlify's validator
 * module @authenio/samlify-xmllint-wasm ships it; we run xmllint-wasm ourselves to get the
 * errors back rather than have them printed to the console.
 */
export function samlProtocolSchema(): SchemaFiles {
  const folder = join(dirname(createRequire(import.meta.url).resolve('@authenio/samlify-xmllint-wasm/package.json')), 'schemas');
  return schemaFilesIn(folder, 'saml-schema-protocol-2.0.xsd', ['saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'XMLSchema.dtd', 'datatypes.dtd']);
}

/**
 * Validates a document against a schema with xmllint compiled to WebAssembly (no Java, no native
 * binary), in a worker with bounded memory. Resolves to the problems found, empty when valid.
 */
export async function schemaProblems(xml: string, schema: SchemaFiles): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'message.xml', contents: xml }], schema: [schema.main], preload: schema.preload, maxMemoryPages: MAX_MEMORY_PAGES });
  return result.valid ? [] : result.errors.map((error) => error.message);
}
