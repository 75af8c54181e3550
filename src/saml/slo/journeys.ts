import { createHash, randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../../adapters/ephemeral.js';
import type { IssuedNameId } from '../name-id.js';

/** How long a browser has to go through the apps of a logout. */
export const JOURNEY_SECONDS = 10 * 60;
/** How long each app has to answer its LogoutRequest before the page moves on without it. */
export const STEP_SECONDS = 10;

/** One app to log out: whom to name in its LogoutRequest. */
export interface LogoutStep {
  appId: string;
  name: string;
  nameId: IssuedNameId;
  sessionIndex: string;
}

/**
 * A front-channel logout in progress (SAML Profiles 4.4.3.3): the apps the browser visits one after
 * another, then either the LogoutResponse to the app that asked (SP-initiated) or the page that says
 * what was signed out (IdP-initiated), which continues to `next`.
 */
export interface LogoutJourney {
  steps: LogoutStep[];
  requester?: { appId: string; requestId: string; relayState?: string };
  next?: string;
}

/** A LogoutRequest Gatehouse sent, by its ID: the LogoutResponse's InResponseTo must name one. */
export interface SentRequest {
  journey: string;
  step: number;
  appId: string;
}

const hashed = (value: string) => createHash('sha256').update(value).digest('base64url');
const journeyKey = (tenant: string, id: string) => tenantKey(tenant, 'saml-slo-journey', hashed(id));
const resultsKey = (tenant: string, id: string) => tenantKey(tenant, 'saml-slo-results', hashed(id));
const sentKey = (tenant: string, requestId: string) => tenantKey(tenant, 'saml-slo-sent', hashed(requestId));

/** Logout journeys, their results and the requests they sent, in the short-lived store. */
export class LogoutJourneys {
  constructor(private readonly ephemeral: EphemeralStore) {}

  /** Stores a journey; answers its id (random, 32 bytes), which the browser carries from step to step. */
  async start(tenant: string, journey: LogoutJourney): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.ephemeral.set(journeyKey(tenant, id), JSON.stringify(journey), { ttlSeconds: JOURNEY_SECONDS });
    return id;
  }

  async get(tenant: string, id: string): Promise<LogoutJourney | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const raw = await this.ephemeral.get(journeyKey(tenant, id));
    return raw === undefined ? undefined : (JSON.parse(raw) as LogoutJourney);
  }

  /** The journey, removed as it is read, with which steps succeeded: it finishes once. */
  async finish(tenant: string, id: string): Promise<{ journey: LogoutJourney; succeeded: Set<number> } | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const raw = await this.ephemeral.take(journeyKey(tenant, id));
    if (raw === undefined) return undefined;
    const results = await this.ephemeral.members(resultsKey(tenant, id));
    await this.ephemeral.delete([resultsKey(tenant, id)]);
    return { journey: JSON.parse(raw) as LogoutJourney, succeeded: new Set(results.filter((result) => result.endsWith(':ok')).map((result) => Number(result.split(':')[0]))) };
  }

  /** Remembers a LogoutRequest sent for a step, until its answer comes or the journey ends. */
  async sent(tenant: string, requestId: string, request: SentRequest): Promise<void> {
    await this.ephemeral.set(sentKey(tenant, requestId), JSON.stringify(request), { ttlSeconds: JOURNEY_SECONDS });
  }

  /** The request a LogoutResponse answers, taken (a second answer to it finds nothing). */
  async answered(tenant: string, inResponseTo: string): Promise<SentRequest | undefined> {
    const raw = await this.ephemeral.take(sentKey(tenant, inResponseTo));
    return raw === undefined ? undefined : (JSON.parse(raw) as SentRequest);
  }

  /** Records an app's answer to its step. */
  async result(tenant: string, request: SentRequest, success: boolean): Promise<void> {
    await this.ephemeral.addToSet(resultsKey(tenant, request.journey), [`${request.step}:${success ? 'ok' : 'failed'}`], JOURNEY_SECONDS);
  }
}
