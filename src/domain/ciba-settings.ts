/**
 * A tenant's CIBA settings (`securityPolicy.ciba`, docs/ciba.md): whether the grant is on, which
 * channels tell the user of a new request, and the tenant's notification webhook.
 */
export interface TenantCibaSettings {
  /** the grant; off when unset */
  enabled?: boolean;
  /** each channel off when unset */
  notifications?: { sms?: boolean; webhook?: boolean };
  /** where `ciba.requested` events are POSTed: the URL and the secret, sealed ({@link cibaWebhookPurpose}); set apart, with its own endpoint */
  webhook?: { url: string; secret: string };
}

/** Additional data of a sealed CIBA webhook secret: it opens for this purpose and tenant only, never as an SMS webhook's. */
export const cibaWebhookPurpose = (tenant: string) => `ciba-webhook:${tenant}`;

/** The channels in force: a webhook channel with no webhook set sends nothing. */
export function cibaNotificationsOf(settings: TenantCibaSettings | undefined): { sms: boolean; webhook: boolean } {
  return { sms: settings?.notifications?.sms === true, webhook: settings?.notifications?.webhook === true };
}

/**
 * The approval page of one request in the account console: a fixed contract with the console
 * (`/account/ciba/{id}`, id = the tenant's MAC of the request, as the approval API shows it). Built
 * from the issuer, which comes from the configured public URL, never from a request's Host.
 */
export function cibaApprovalUrl(issuer: string, requestId: string): string {
  return `${issuer}/account/ciba/${encodeURIComponent(requestId)}`;
}
