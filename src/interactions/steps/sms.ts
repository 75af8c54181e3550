import { z } from 'zod';
import type { Sent } from '../../authn/sms-factors.js';
import { maskPhone } from '../../domain/phone.js';
import { parseFields } from '../../http/forms.js';
import { checkProofOfWork, proofOfWorkWidgetIfOn } from '../../http/proof-of-work.js';
import { proveCode } from '../second-factor.js';
import { waitText, type InteractionStep, type StepContext } from '../step.js';

/** `send` texts a code (to `factor`, one of the user's phones); anything else checks `code`. */
const sendFields = z.object({ intent: z.literal('send'), factor: z.string().max(64).optional() });

/** Links to the other ways this login accepts now (authenticator app, recovery code). */
const otherWays: Record<string, string> = { totp: 'Use your authenticator app instead', 'recovery-code': 'Lost your phone? Use a recovery code' };

async function show(step: StepContext, messages: { error?: string; notice?: string } = {}, status = 200): Promise<void> {
  const { app, tenant, decided } = step;
  const accountId = step.accountId ?? '';
  const phones = await app.mfa.factors.smsPhones(tenant.id, accountId);
  const live = await app.mfa.sms.signInState(tenant.id, accountId, step.interaction.uid);
  const accepted = decided.decision.kind === 'step' ? [decided.decision.step, ...decided.decision.alternatives] : [];
  await step.render(
    'sms',
    live.phone ? 'Enter the code we texted you' : 'Get a code by text message',
    {
      action: `${step.base}/sms`,
      client: await step.clientName(),
      sentTo: live.phone ? maskPhone(live.phone) : undefined,
      resendIn: live.resendIn,
      phones: phones.map((phone) => ({ id: phone.id, masked: maskPhone(phone.phone) })),
      links: accepted.filter((name) => name in otherWays).map((name) => ({ href: `${step.base}/${name}`, label: otherWays[name] })),
      fieldErrors: messages.error && live.phone ? { code: messages.error } : {},
      error: live.phone ? undefined : messages.error,
      notice: messages.notice,
      // Each "text a code" form solves a proof of work when sent, where the tenant asks for it.
      proofOfWork: proofOfWorkWidgetIfOn(tenant, 'sms', 'onsubmit'),
    },
    status,
  );
}

/** What the page says when a text was refused (the limits, the tenant's countries, the gateway). */
function refusal(step: StepContext, sent: Extract<Sent, { ok: false }>): { error: string; status: number } {
  if (sent.reason === 'cooldown' || sent.reason === 'rate_limited') {
    step.ctx.set('Retry-After', String(sent.retryAfter));
    if (sent.reason === 'rate_limited' && sent.budget) step.app.metrics.rateLimited(`sms_send_${sent.budget}`);
    return { error: `${sent.message} Try again in ${waitText(sent.retryAfter)}.`, status: 429 };
  }
  return { error: sent.message, status: sent.reason === 'not_sent' ? 503 : 400 };
}

/**
 * Second factor: a code texted to one of the user's phones, bound to this interaction. The page
 * texts nothing on its own: a GET (a link scanner, a prefetch) only shows the button; the code is
 * sent by a POST of that button, and again by the resend button after the cooldown. The code is
 * then checked like the others (`proveCode`: the MFA budgets, the audit). Where the tenant turned
 * on proof of work for SMS, each send needs a solved challenge, checked before the send limits count it.
 */
export const smsStep: InteractionStep<'sms'> = {
  name: 'sms',

  async render(step) {
    await show(step);
  },

  async submit(step) {
    const fields = step.verifyForm();
    const accountId = step.accountId;
    if (fields['intent'] === 'send' && accountId) {
      const { factor } = parseFields(sendFields, fields);
      // Where the tenant asks, a solved proof of work before anything is counted or texted.
      const pow = await checkProofOfWork(step.app.proofOfWork, step.tenant, 'sms', fields);
      if (!pow.ok) return show(step, { error: pow.message }, 400);
      const phones = await step.app.mfa.factors.smsPhones(step.tenant.id, accountId);
      const chosen = factor ?? phones[0]?.id ?? '';
      const sent = await step.app.mfa.sms.sendSignIn(step.tenant.id, accountId, chosen, step.interaction.uid, { address: step.ctx.ip, requestId: step.ctx.state.requestId as string });
      if (!sent.ok) {
        const refused = refusal(step, sent);
        return show(step, { error: refused.error }, refused.status);
      }
      step.ctx.set('Cache-Control', 'no-store');
      step.ctx.status = 303;
      step.ctx.redirect(`${step.base}/sms`);
      return;
    }
    const refused = await proveCode(step, 'sms', (id, code) => step.app.mfa.sms.verifySignIn(step.tenant.id, id, step.interaction.uid, code));
    if (refused) await show(step, { error: refused.error }, refused.status);
  },
};
