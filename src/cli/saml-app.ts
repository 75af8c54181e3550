import { readFile, stat } from 'node:fs/promises';
import { audit, optional, printable, required, UsageError, withApp, type Command, type OptionValues } from './command.js';

/** The admin API's cap on metadata (`MAX_METADATA_BYTES` in saml/sp-metadata.ts), not imported: help should not load the XML parser. */
const MAX_METADATA_FILE_BYTES = 256 * 1024;

/** The registration request the flags describe, in the admin API's shape, checked by the same code. */
async function requestOf(values: OptionValues): Promise<Record<string, unknown>> {
  const file = optional(values, 'metadata-file');
  const url = optional(values, 'metadata-url');
  const entityId = optional(values, 'entity-id');
  const acsUrls = (values['acs-url'] as string[] | undefined) ?? [];
  if ([file, url].filter((source) => source !== undefined).length > 1) throw new UsageError('use either --metadata-file or --metadata-url, not both');
  if (file === undefined && url === undefined && (entityId === undefined || acsUrls.length === 0)) throw new UsageError('give --metadata-file <path>, --metadata-url <url>, or --entity-id <id> with --acs-url <url>');
  const request: Record<string, unknown> = {};
  if (file !== undefined) {
    try {
      // A file far over the metadata cap is not read into memory to be refused afterwards.
      if ((await stat(file)).size > MAX_METADATA_FILE_BYTES) throw new UsageError(`--metadata-file: ${file} is larger than ${MAX_METADATA_FILE_BYTES} bytes`);
      const text = await readFile(file, 'utf8');
            request['metadata_xml'] = text;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--metadata-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (url !== undefined) request['metadata_url'] = url;
  if (entityId !== undefined) request['entity_id'] = entityId;
  if (acsUrls.length) request['acs_urls'] = acsUrls.map((acs) => ({ url: acs, binding: 'HTTP-POST' }));
  const name = optional(values, 'name');
  if (name !== undefined) request['name'] = name;
  const roles = (values['role'] as string[] | undefined) ?? [];
  if (values['all-users'] === true || roles.length) request['access'] = { all_users: values['all-users'] === true, roles };
  return request;
}

/** `gatehouse saml-app create`, `saml-app signing-certificate` and `saml-app list`: SAML service providers, checked as the admin API checks them. */
export const samlAppCommands: Command[] = [
  {
    name: 'saml-app create',
    synopsis: '--tenant <id> (--metadata-file <path> | --metadata-url <url> | --entity-id <id> --acs-url <url>...) [--name <name>] [--all-users] [--role <name>...]',
    summary: 'register a SAML app (service provider) from its metadata or its entity ID and ACS URLs; prints its id',
    details:
      '--metadata-file <path>  the SP\'s metadata (an md:EntityDescriptor)\n' +
      '--metadata-url <url>    fetch it from there (https; private addresses only with http.allowPrivateNetworkFetch)\n' +
      '--entity-id, --acs-url  or say the SP\'s entity ID and its HTTP-POST assertion consumer URL(s) yourself\n' +
      '--all-users, --role     who may sign in to it (default: nobody until assigned, through the admin API)\n' +
      'Every other setting (signing, encryption, attributes): the admin API, PATCH /admin/v1/tenants/{tenant}/saml-apps/{id}.',
    options: {
      tenant: { type: 'string' },
      'metadata-file': { type: 'string' },
      'metadata-url': { type: 'string' },
      'entity-id': { type: 'string' },
      'acs-url': { type: 'string', multiple: true },
      name: { type: 'string' },
      'all-users': { type: 'boolean' },
      role: { type: 'string', multiple: true },
    },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const request = await requestOf(values);
      // Loaded on use: the registration brings the XML parser along, which help does not need.
      const { createBody, register, registrationContextFor } = await import('../saml/registration.js');
      const { validationError } = await import('../errors.js');
      const { appJson } = await import('../saml/app-fields.js');
      const parsed = createBody.safeParse(request);
      if (!parsed.success) throw new UsageError(validationError('body', parsed.error).message);
      return withApp(config, async (app) => {
        if (!(await app.tenants.find(tenantId))) throw new UsageError(`there is no tenant "${tenantId}"`);
        // Invalid metadata or a taken entity ID is an AppError naming the field: exit code 2.
        const { fields, warnings } = await register(parsed.data, undefined, registrationContextFor(app, tenantId));
        const created = await app.samlApps.create(tenantId, fields, new Date(app.clock()));
        await audit(app, { tenant: tenantId, type: 'saml_app.created', target: { type: 'saml_app', id: created.id }, after: appJson(created, new Date(app.clock())), ...(warnings.length ? { details: { warnings } } : {}) });
        console.log(`id: ${created.id}`);
        console.log(`entity_id: ${printable(created.entityId)}`);
        for (const warning of warnings) console.error(`warning: ${printable(warning)}`);
        return 0;
      });
    },
  },
  {
    name: 'saml-app signing-certificate',
    synopsis: '--tenant <id> --app <id> [--kid <kid> | --follow-tenant]',
    summary: 'show which SAML certificate signs for an app; pin it to one (--kid) or have it follow the tenant\'s active one again',
    details:
      '--kid <kid>       sign for this app with that published certificate of the tenant (active, next or previous)\n' +
      '--follow-tenant   sign for it with the tenant\'s active certificate again\n' +
      'The certificates and their kids: GET /admin/v1/tenants/{tenant}/saml-certificates. See docs/saml.md, Certificates and rotation.',
    options: { tenant: { type: 'string' }, app: { type: 'string' }, kid: { type: 'string' }, 'follow-tenant': { type: 'boolean' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const appId = required(values, 'app', '<id>');
      const kid = optional(values, 'kid');
      const follow = values['follow-tenant'] === true;
      if (kid !== undefined && follow) throw new UsageError('use either --kid or --follow-tenant, not both');
      if (kid !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(kid)) throw new UsageError(`--kid: "${printable(kid)}" is not a certificate id (a UUID)`);
      const pins = await import('../saml/certificate-pin.js');
      return withApp(config, async (app) => {
        if (!(await app.tenants.find(tenantId))) throw new UsageError(`there is no tenant "${tenantId}"`);
        const now = new Date(app.clock());
        let signing;
        if (kid !== undefined || follow) {
          const change = kid !== undefined ? await pins.pinSigningCertificate(app, tenantId, appId, kid, now) : await pins.unpinSigningCertificate(app, tenantId, appId, now);
          if (kid !== undefined || change.before?.pinned !== false) {
            await audit(app, { tenant: tenantId, type: kid !== undefined ? 'saml_app.signing_certificate_pinned' : 'saml_app.signing_certificate_unpinned', target: { type: 'saml_app', id: appId }, before: pins.auditedSigning(change.before), after: pins.auditedSigning(change.after) });
          }
          signing = change.after;
        } else {
          const samlApp = await app.samlApps.get(tenantId, appId);
          if (!samlApp) throw new UsageError(`there is no SAML app "${printable(appId)}" in tenant "${tenantId}"`);
          signing = await pins.signingCertificateOf(app, samlApp, now);
        }
        console.log(`pinned: ${signing.pinned}`);
        console.log(`kid: ${signing.key.kid}`);
        console.log(`state: ${signing.key.state}`);
        console.log(`fingerprint_sha256: ${signing.key.fingerprint}`);
        return 0;
      });
    },
  },
  {
    name: 'saml-app list',
    synopsis: '--tenant <id>',
    summary: 'list a tenant\'s SAML apps: id, entity ID and name',
    options: { tenant: { type: 'string' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      return withApp(config, async (app) => {
        if (!(await app.tenants.find(tenantId))) throw new UsageError(`there is no tenant "${tenantId}"`);
        let after: string | undefined;
        for (;;) {
          const page = await app.samlApps.list(tenantId, { ...(after !== undefined ? { after } : {}), limit: 100 });
          for (const samlApp of page) console.log([samlApp.id, printable(samlApp.entityId), printable(samlApp.name)].join('\t'));
          if (page.length < 100) return 0;
          after = page.at(-1)!.id;
        }
      });
    },
  },
];
