import type { EmailTemplate, EmailTemplateName } from '../domain/email-templates.js';

/**
 * Gatehouse's own wording of every e-mail, by locale, in the placeholder syntax tenants use too
 * (domain/email-templates.ts): the defaults go through the same substitution as a tenant's text,
 * never through EJS. A locale adds a member here; `en` is the fallback of every other.
 */
export const defaultEmailTexts: Record<string, Record<EmailTemplateName, EmailTemplate>> = {
  en: {
    verify_email: {
      subject: 'Confirm your e-mail address for <%= tenant_name %>',
      text: [
        'Hello <%= user_name %>,',
        '',
        'To confirm this e-mail address for your <%= tenant_name %> account, open this link:',
        '',
        '<%= link %>',
        '',
        'Or enter this code where you asked for it: <%= code %>',
        '',
        'The link and the code work once, for <%= expires_minutes %> minutes. If you did not ask for this, ignore this message.',
      ].join('\n'),
      html:
        '<p>Hello <%= user_name %>,</p><p>To confirm this e-mail address for your <%= tenant_name %> account, use this button:</p>' +
        '<p><a class="button" href="<%= link %>">Confirm my e-mail address</a></p>' +
        '<p>Or enter this code where you asked for it: <strong class="code"><%= code %></strong></p>' +
        '<p class="small">The link and the code work once, for <%= expires_minutes %> minutes. If you did not ask for this, ignore this message.</p>',
    },
    password_reset: {
      subject: 'Reset your <%= tenant_name %> password',
      text: [
        'Hello <%= user_name %>,',
        '',
        'Someone (we hope you) asked to reset the password of your <%= tenant_name %> account. To choose a new one, open this link:',
        '',
        '<%= link %>',
        '',
        'The link works once, for <%= expires_minutes %> minutes. If you did not ask for this, ignore this message: your password stays as it is.',
      ].join('\n'),
      html:
        '<p>Hello <%= user_name %>,</p><p>Someone (we hope you) asked to reset the password of your <%= tenant_name %> account.</p>' +
        '<p><a class="button" href="<%= link %>">Choose a new password</a></p>' +
        '<p class="small">The link works once, for <%= expires_minutes %> minutes. If you did not ask for this, ignore this message: your password stays as it is.</p>',
    },
    password_changed: {
      subject: 'Your <%= tenant_name %> password was reset',
      text: 'Hello <%= user_name %>,\n\nThe password of your <%= tenant_name %> account was just reset, and every device signed in to it was signed out.\n\nIf this was not you, reset your password again at once and tell your administrator.',
      html: '<p>Hello <%= user_name %>,</p><p>The password of your <%= tenant_name %> account was just reset, and every device signed in to it was signed out.</p><p>If this was not you, reset your password again at once and tell your administrator.</p>',
    },
    email_changed: {
      subject: 'The e-mail address of your <%= tenant_name %> account was changed',
      text: 'Hello <%= user_name %>,\n\nThe e-mail address of your <%= tenant_name %> account was changed to <%= new_email_masked %>. Messages about the account now go there, not here.\n\nIf this was not you, tell your administrator at once.',
      html: '<p>Hello <%= user_name %>,</p><p>The e-mail address of your <%= tenant_name %> account was changed to <strong><%= new_email_masked %></strong>. Messages about the account now go there, not here.</p><p>If this was not you, tell your administrator at once.</p>',
    },
    factor_changed: {
      subject: 'A sign-in method of your <%= tenant_name %> account was changed',
      text: 'Hello <%= user_name %>,\n\nA sign-in method of your <%= tenant_name %> account was <%= change %>: <%= factor %>.\n\nIf this was not you, sign in and check your security settings, and tell your administrator.',
      html: '<p>Hello <%= user_name %>,</p><p>A sign-in method of your <%= tenant_name %> account was <%= change %>: <strong><%= factor %></strong>.</p><p>If this was not you, sign in and check your security settings, and tell your administrator.</p>',
    },
    signup_duplicate: {
      subject: 'Someone tried to sign up for <%= tenant_name %> with your address',
      text: 'Hello,\n\nSomeone (perhaps you) tried to create a <%= tenant_name %> account with this e-mail address, but it already has one.\n\nTo sign in: <%= sign_in_link %>\nForgot your password? <%= reset_link %>\n\nIf this was not you, you can ignore this message; nothing was changed.',
      html: '<p>Hello,</p><p>Someone (perhaps you) tried to create a <%= tenant_name %> account with this e-mail address, but it already has one.</p><p><a class="button" href="<%= sign_in_link %>">Sign in</a></p><p>Forgot your password? <a href="<%= reset_link %>">Reset it</a>.</p><p class="small">If this was not you, you can ignore this message; nothing was changed.</p>',
    },
  },
};

/** The texts of `locale`, or English when Gatehouse has none in that language. */
export function defaultTextsFor(locale: string | undefined): Record<EmailTemplateName, EmailTemplate> {
  const language = locale?.toLowerCase().split('-')[0];
  return (language && Object.hasOwn(defaultEmailTexts, language) ? defaultEmailTexts[language] : undefined) ?? defaultEmailTexts['en']!;
}
