import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Throttle } from '../authn/throttle.js';
import type { BackgroundWork } from '../background.js';
import type { AuditRepository } from '../domain/audit.js';
import type { MfaFactorRepository } from '../domain/mfa-factors.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantRepository } from '../domain/tenants.js';
import type { UserRepository } from '../domain/users.js';
import type { MessageSender } from './sender.js';

/**
 * What CIBA notifications use of the process-wide context (the `AppContext` satisfies it; named
 * here because messaging/ sits below the context, which imports it).
 */
export interface CibaNotificationDeps {
  config: Config;
  logger: Logger;
  clock: () => number;
  box: SecretBox;
  tenants: TenantRepository;
  users: UserRepository;
  mfa: { factors: MfaFactorRepository };
  throttle: Throttle;
  audit: AuditRepository;
  /** the operator's sender, behind a tenant's own SMS webhook */
  messages: MessageSender;
  background: BackgroundWork;
}
