import { z } from 'zod';
import type { KeyInfo } from '../../domain/keys.js';
import { AppError } from '../../errors.js';
import { activationDelayProblem, defaultActivationDelay, MAX_ACTIVATION_DELAY_SECONDS } from '../../oidc/key-timing.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { tenantParam } from './common.js';

const keyOut = z.object({
  kid: z.string(),
  kind: z.enum(['signing', 'cookie']),
  alg: z.string().nullable(),
  use: z.literal('sig').nullable(),
  state: z.enum(['next', 'active', 'retired', 'unpublished']).describe('next: published, not signing yet; active: signs; retired: published until unpublish_at; unpublished: used for nothing, deleted at the next rotation'),
  created_at: z.string(),
  activates_at: z.string(),
  retires_at: z.string().nullable().describe('when a newer key takes over (null while none is staged)'),
  unpublish_at: z.string().nullable().describe('when it leaves the JWKS (signing keys) or stops being accepted (cookie keys): its retirement plus the longest lifetime of what it signed'),
});

function toJson(key: KeyInfo): z.input<typeof keyOut> {
  return {
    kid: key.kid,
    kind: key.kind,
    alg: key.alg ?? null,
    use: key.kind === 'signing' ? 'sig' : null,
    state: key.state,
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
    retires_at: key.retiresAt?.toISOString() ?? null,
    unpublish_at: key.unpublishAt?.toISOString() ?? null,
  };
}

const now = (request: AdminRequest<unknown, unknown, unknown>) => new Date(request.app.clock());

/**
 * A tenant's keys (see "Key lifecycle" in docs/architecture.md). The list is not paged: a tenant
 * holds at most `MAX_KEY_SETS` sets of three keys (rotation refuses more), plus those unpublished
 * since the last rotation, which that rotation deletes.
 */
export const keyRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/keys',
    tag: 'Keys',
    summary: 'List a tenant’s signing and cookie keys with their states',
    scopes: ['admin:keys:read'],
    params: tenantParam,
    response: z.object({ items: z.array(keyOut) }),
    async handler(request) {
      return { items: (await request.app.keys.list(request.tenant, now(request))).map(toJson) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/keys/rotate',
    tag: 'Keys',
    summary: 'Add new signing keys (RS256, ES256) and a cookie key',
    description:
      'The new keys are published at once and sign from `activate_in_seconds` on (default: the larger of twice `tenants.refreshSeconds` and `keys.jwksCacheSeconds` + `tenants.refreshSeconds`). ' +
      'A shorter wait than `keys.jwksCacheSeconds` + `tenants.refreshSeconds` is refused unless `force` is true. Older keys stay published until what they signed has expired. 409 when the tenant holds the most key sets it may.',
    scopes: ['admin:keys:write'],
    params: tenantParam,
    body: z
      .object({
        activate_in_seconds: z.number().int().min(0).max(MAX_ACTIVATION_DELAY_SECONDS).optional().describe('seconds from now until the new keys sign'),
        force: z.boolean().optional().describe('accept a wait shorter than relying parties may cache the JWKS'),
      })
      .strict(),
    response: z.object({ activates_at: z.string(), keys: z.array(keyOut) }),
    async handler(request) {
      const { config } = request.app;
      const delay = request.body.activate_in_seconds ?? defaultActivationDelay(config);
      const problem = activationDelayProblem(config, delay, request.body.force === true, { delay: 'activate_in_seconds', force: '"force": true' });
      if (problem) throw new AppError('invalid_request', problem);
      const { activatesAt, kids } = await request.app.keys.rotate(request.tenant, { activateAfterSeconds: delay, now: now(request) });
      request.changed({ kind: 'keys' });
      const keys = await request.app.keys.list(request.tenant, now(request));
      await request.audit({
        type: 'keys.rotated',
        target: { type: 'tenant', id: request.tenant },
        after: { activates_at: activatesAt.toISOString(), kids },
      });
      return { activates_at: activatesAt.toISOString(), keys: keys.map(toJson) };
    },
  }),
];
