import type { Context } from 'koa';
import type { InteractionResults } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { csrfTokenFor, verifyForm } from '../http/forms.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import type { Decision, PolicyInput, StepName } from './policy.js';
import type { LoginState } from './state.js';

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What the router found for this request: the policy's input and its decision. */
export interface Decided {
  input: PolicyInput;
  decision: Decision;
}

/**
 * What a step gets: the request, the process-wide and tenant contexts, the interaction, and what the
 * policy decided for it. `continueWith` records progress and goes where the policy says next
 * (`flow.ts`); steps never call one another.
 */
export class StepContext {
  readonly base: string;

  constructor(
    readonly ctx: Context,
    readonly app: AppContext,
    readonly tenant: TenantContext,
    readonly interaction: InteractionDetails,
    readonly decided: Decided,
    readonly continueWith: (step: StepContext, state: LoginState) => Promise<void>,
  ) {
    this.base = `${new URL(tenant.issuer).pathname}/interaction/${interaction.uid}`;
  }

  /** The account the policy is signing in, once the first factor (or the session) named it. */
  get accountId(): string | undefined {
    const { decision } = this.decided;
    return decision.kind === 'step' ? decision.accountId : undefined;
  }

  /** CSRF token for this interaction's forms. */
  get csrfToken(): string {
    return csrfTokenFor(this.tenant, `interaction:${this.interaction.uid}`);
  }

  /** Checks CSRF and Origin of a POST and returns its fields. */
  verifyForm(): Record<string, unknown> {
    return verifyForm(this.ctx, this.tenant, `interaction:${this.interaction.uid}`, new URL(this.app.config.publicUrl).origin);
  }

  async clientName(): Promise<{ name: string; uri?: string; firstParty: boolean }> {
    const clientId = String(this.interaction.params['client_id']);
    const client = await this.tenant.provider.Client.find(clientId);
    const uri = client?.clientUri;
    return { name: client?.clientName ?? clientId, ...(uri ? { uri } : {}), firstParty: client?.['first_party'] === true };
  }

  async render(page: string, title: string, locals: Record<string, unknown>, status = 200): Promise<void> {
    this.ctx.status = status;
    this.ctx.type = 'html';
    // Interaction pages must never be cached or replayed from history with stale tokens.
    this.ctx.set('Cache-Control', 'no-store');
    this.ctx.body = await renderPage(page, {
      title,
      tenant: this.tenant,
      requestId: this.ctx.state.requestId as string,
      abortUrl: `${this.base}/abort`,
      csrfToken: this.csrfToken,
      ...locals,
    });
  }

  /**
   * Ends the interaction; the provider continues the authorization request. This is what the
   * provider's `interactionResult` does, on the interaction this request already found and checked
   * (`load`): that method would look it and its session up again, three more round trips to the
   * short-lived store per step.
   */
  async finish(result: InteractionResults, merge = true): Promise<void> {
    const { interaction } = this;
    interaction.result = merge && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
    await interaction.persist();
    this.ctx.status = 303;
    this.ctx.redirect(interaction.returnTo);
  }
}

/** One step of the login pipeline: GET renders it, POST verifies one thing and records progress. */
export interface InteractionStep<Name extends StepName = StepName> {
  /** path segment of its POST, and its name in the policy */
  readonly name: Name;
  render(step: StepContext): Promise<void>;
  submit(step: StepContext): Promise<void>;
  /**
   * Steps that ask the browser for a WebAuthn assertion: the options for it (a new challenge bound
   * to the interaction), which the page's script fetches with a POST carrying the CSRF token.
   */
  options?(step: StepContext): Promise<unknown>;
}

/** Every step by name: a closed registry, so a step the policy can name always exists. */
export type StepRegistry = { readonly [Name in StepName]: InteractionStep<Name> };

export { waitText } from '../http/wait-text.js';
