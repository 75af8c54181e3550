/**
 * A CIBA notification channel declined to send, for a reason the audit names (`reason`): a limit
 * or a setting said no, where a `MessageNotSentError` says the gateway or the network did.
 */
export class NotificationRefused extends Error {
  override readonly name = 'NotificationRefused';

  constructor(
    readonly reason: 'rate_limited' | 'country_not_allowed' | 'no_webhook',
    message: string,
  ) {
    super(message);
  }
}
