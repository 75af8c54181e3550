import type { StepRegistry } from './step.js';
import { changePasswordStep } from './steps/change-password.js';
import { consentStep } from './steps/consent.js';
import { enrollTotpStep } from './steps/enroll-totp.js';
import { passkeyStep } from './steps/passkey.js';
import { passwordStep } from './steps/password.js';
import { recoveryCodeStep } from './steps/recovery-code.js';
import { signUpStep } from './steps/sign-up.js';
import { verifyEmailStep } from './steps/verify-email.js';
import { smsStep } from './steps/sms.js';
import { totpStep } from './steps/totp.js';
import { webauthnStep } from './steps/webauthn.js';

/**
 * Every step the policy can name, by name. Typed as the closed {@link StepRegistry}, so adding a name
 * to the policy's `stepNames` without its module here does not compile.
 */
export const steps: StepRegistry = {
  password: passwordStep,
  'sign-up': signUpStep,
  'verify-email': verifyEmailStep,
  passkey: passkeyStep,
  webauthn: webauthnStep,
  totp: totpStep,
  sms: smsStep,
  'recovery-code': recoveryCodeStep,
  'enroll-totp': enrollTotpStep,
  'change-password': changePasswordStep,
  consent: consentStep,
};
