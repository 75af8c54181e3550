import { errors } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { isAcr, lowestKnown, satisfies, type Acr } from '../authn/assurance.js';
import { announceCibaChange, MAX_APPROVAL_SIGN_IN_AGE_SECONDS } from '../domain/ciba.js';
import { askedAcrValues, describeRequest, publicRequestId, type PendingRequest } from '../domain/ciba-request.js';
import { AppError } from '../errors.js';
import { closeOpenRequest, requestDigest, settleOnce, unsettle } from '../oidc/ciba-open.js';
import type { TenantContext } from '../tenancy/tenant-context.js';

// Where the type was first defined; kept for the callers of this module.
export type { PendingRequest } from '../domain/ciba-request.js';

/** Where a decision was taken (audited) and the HTTP request that took it. */
export interface DecisionContext {
  via: 'approval_api' | 'account_console';
  requestId?: string;
}

/** What the approving sign-in proved: the access token's `acr`, `amr` and `auth_time`. */
export interface SignInProof {
  acr?: string;
  amr: string[];
  authTime?: number;
}

type Request = InstanceType<TenantContext['provider']['BackchannelAuthenticationRequest']>;

const PAGE = 50;

/** Why a sign-in cannot approve a request: too weak for its `acr_values`, too old, or both; `required` is what a new sign-in must reach. */
export interface Shortfall {
  required?: Acr;
  weak: boolean;
  stale: boolean;
}

/**
 * What a sign-in lacks to approve a request asking for `acrValues` (the lowest of those asked that
 * Gatehouse knows must be reached), and whether it is too old (more than
 * {@link MAX_APPROVAL_SIGN_IN_AGE_SECONDS} ago, or in the future); undefined when it is enough.
 */
export function shortfall(acrValues: readonly string[], proof: SignInProof, nowSeconds: number): Shortfall | undefined {
  const required = lowestKnown(acrValues);
  const weak = required !== undefined && !satisfies(required, proof.amr);
  const stale = proof.authTime === undefined || nowSeconds - proof.authTime > MAX_APPROVAL_SIGN_IN_AGE_SECONDS || proof.authTime - nowSeconds > 60;
  return weak || stale ? { ...(required ? { required } : {}), weak, stale } : undefined;
}

/**
 * The built-in authentication device's decisions (docs/ciba.md): a user's pending CIBA requests, and
 * approving or denying one of them with what their sign-in proves. Used by the approval API (and
 * later the account console). A decision is taken once: a marker written only if absent decides
 * between parallel approvals and denials on every instance, and against the expiry audit
 * (`oidc/ciba-open.ts`), so a decided request is never audited as expired.
 */
export class CibaApprovals {
  constructor(private readonly app: AppContext) {}

  async #pending(tenant: TenantContext, accountId: string): Promise<Array<{ id: string; request: Request & { clientId: string } }>> {
    const instances = await tenant.byAccount.find('BackchannelAuthenticationRequest', accountId, { limit: PAGE });
    const found = await Promise.all(instances.map((instance) => tenant.provider.BackchannelAuthenticationRequest.find(instance.id)));
    return found
      // `isExpired` as the token endpoint judges it: `find` allows the provider's clock tolerance,
      // and a request the client can no longer collect is no longer pending.
      .filter((request): request is Request & { clientId: string } => request !== undefined && typeof request.clientId === 'string' && request.accountId === accountId && !request.grantId && !request.error && !request.isExpired)
      .map((request) => ({ id: publicRequestId(tenant.mac, request), request }));
  }

  async pending(tenant: TenantContext, accountId: string): Promise<PendingRequest[]> {
    const pending = await this.#pending(tenant, accountId);
    return Promise.all(pending.map(async ({ request }) => describeRequest(tenant.mac, request, (await tenant.provider.Client.find(request.clientId))?.clientName)));
  }

  /** One of the user's pending requests by its id, or undefined (decided, expired, someone else's). */
  async find(tenant: TenantContext, accountId: string, id: string): Promise<PendingRequest | undefined> {
    return (await this.pending(tenant, accountId)).find((pending) => pending.id === id);
  }

  /** The user's pending request `id`, claimed for a decision (once, whoever asks first). */
  async #claim(tenant: TenantContext, accountId: string, id: string, check: (request: Request) => void): Promise<Request & { clientId: string }> {
    const match = (await this.#pending(tenant, accountId)).find((pending) => pending.id === id);
    if (!match) throw new AppError('not_found', 'There is no pending request with this id for this user: it was decided already, it expired, or it is someone else’s.');
    check(match.request);
    if (!(await settleOnce(this.app.ephemeral, tenant.id, requestDigest(match.request.jti), 'decided'))) throw new AppError('conflict', 'This request has been decided already.');
    return match.request;
  }

  async approve(tenant: TenantContext, accountId: string, id: string, proof: SignInProof, via: DecisionContext): Promise<void> {
    const now = Math.floor(this.app.clock() / 1000);
    const request = await this.#claim(tenant, accountId, id, (pending) => {
      const missing = shortfall(askedAcrValues(pending), proof, now);
      if (missing?.weak) {
        throw new AppError('insufficient_user_authentication', `This request asks for a stronger sign-in (${missing.required}); sign the user in again with acr_values=${missing.required}.`);
      }
      if (missing) {
        throw new AppError('insufficient_user_authentication', `The sign-in behind this token is older than ${MAX_APPROVAL_SIGN_IN_AGE_SECONDS / 60} minutes; sign the user in again (max_age=0) to approve.`);
      }
    });
    const provider = tenant.provider;
    const grant = new provider.Grant({ accountId, clientId: request.clientId });
    if (request.scope) grant.addOIDCScope(request.scope);
    await grant.save();
    await this.#result(tenant, request, accountId, 'approved', via, () =>
      provider.backchannelResult(request, grant, { ...(proof.acr && isAcr(proof.acr) ? { acr: proof.acr } : {}), amr: proof.amr, ...(proof.authTime !== undefined ? { authTime: proof.authTime } : {}) }),
    );
  }

  async deny(tenant: TenantContext, accountId: string, id: string, via: DecisionContext): Promise<void> {
    const request = await this.#claim(tenant, accountId, id, () => {});
    await this.#result(tenant, request, accountId, 'denied', via, () => tenant.provider.backchannelResult(request, new errors.AccessDenied('the user denied the request')));
  }

  /**
   * Records the result with the provider, which then pings a ping-mode client. The result is saved
   * before the ping, so a failed ping is not the user's problem: it is logged and audited, and the
   * client can still poll.
   */
  async #result(tenant: TenantContext, request: Request & { clientId: string }, accountId: string, outcome: 'approved' | 'denied', context: DecisionContext, record: () => Promise<void>): Promise<void> {
    const audit = (type: string, details?: Record<string, unknown>) =>
      this.app.audit.record({
        tenant: tenant.id,
        type,
        actor: { type: 'user', id: accountId, tenant: tenant.id },
        target: { type: 'client', id: request.clientId },
        details: { via: context.via, ...details },
        ...(context.requestId ? { requestId: context.requestId } : {}),
      });
    const id = requestDigest(request.jti);
    let pingFailed: unknown;
    try {
      await record();
    } catch (error) {
      const saved = await tenant.provider.BackchannelAuthenticationRequest.find(request.jti, { ignoreExpiration: true });
      if (!saved || (!saved.grantId && !saved.error)) {
        // Not decided after all: the claim goes, so a retry can decide it, or its expiry be audited.
        await unsettle(this.app.ephemeral, tenant.id, id, 'decided').catch(() => undefined);
        throw error;
      }
      pingFailed = error;
    }
    await audit(outcome === 'approved' ? 'ciba.approved' : 'ciba.denied');
    // The user's other open pages drop it from their lists.
    await announceCibaChange({ changes: this.app.changes, logger: this.app.logger }, tenant.id, accountId);
    if (pingFailed !== undefined) {
      this.app.logger.warn({ err: pingFailed, tenant: tenant.id, client: request.clientId }, 'CIBA ping to the client failed; the client can still poll');
      await audit('ciba.ping_failed', { error: pingFailed instanceof Error ? pingFailed.message : String(pingFailed) });
    }
    // Nothing left for the expiry sweep; if this fails the sweep finds the marker and drops the entry.
    await closeOpenRequest(this.app.ephemeral, tenant.id, id).catch((error: unknown) => this.app.logger.warn({ err: error, tenant: tenant.id }, 'could not drop a decided CIBA request from the open set; the sweep will'));
  }
}
