import { describe, expect, it } from 'vitest';
import { readProviderForm } from '../../src/oidc/provider-form.js';

describe('readProviderForm', () => {
  it('reads the action and the named values of the one form, entities decoded, whatever the attribute order and quoting', () => {
    const form = readProviderForm(`<form id="op.deviceConfirmForm" method="post" action="/t/acme/device?a=1&amp;b=2">
<input type="hidden" name="xsrf" value="a&quot;b&#x27;c"/>
<input value='BCDF-GHJK' name=user_code type=hidden>
<input type="hidden" name="confirm" value="yes"/>
<input type="text" name="empty_has_no_value"></form>`);
    expect(form).toEqual({ action: '/t/acme/device?a=1&b=2', fields: { xsrf: `a"b'c`, user_code: 'BCDF-GHJK', confirm: 'yes' } });
  });

  it('refuses markup without exactly one form with an action, rather than render an empty one', () => {
    expect(() => readProviderForm('<p>no form</p>')).toThrow(/found 0/);
    expect(() => readProviderForm('<form method="post"></form>')).toThrow(/found 1/);
    expect(() => readProviderForm('<form action="/a"></form><form action="/b"></form>')).toThrow(/found 2/);
  });

  it('keeps hostile values as text for the template to escape', () => {
    const form = readProviderForm('<form action="/x"><input name="user_code" value="&lt;script&gt;alert(1)&lt;/script&gt;"></form>');
    expect(form.fields['user_code']).toBe('<script>alert(1)</script>');
  });
});
