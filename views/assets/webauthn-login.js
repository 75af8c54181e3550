// Passkeys and security keys on the sign-in pages. A file of its own because the pages' CSP allows
// scripts from 'self' only. Each form marked data-webauthn-options carries the CSRF token and an
// empty `response`: the script POSTs the token for the options (a challenge bound to this sign-in),
// lets the browser sign with @simplewebauthn/browser (served beside this file), puts the assertion
// in `response` and submits the form, so the server answers as for any other step. Forms marked
// data-webauthn-autofill also offer passkeys in the username field's autofill (conditional
// mediation), started only where the browser says it supports it.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;

  function showError(form, message) {
    var region = document.getElementById(form.getAttribute('data-webauthn-error'));
    if (!region) return;
    region.querySelector('p').textContent = message;
    region.hidden = false;
  }

  async function ceremony(form, autofill) {
    var body = new URLSearchParams({ csrf: form.elements.namedItem('csrf').value });
    var answer = await fetch(form.getAttribute('data-webauthn-options'), {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: body,
      credentials: 'same-origin',
    });
    if (!answer.ok) {
      var problem = await answer.json().catch(function () { return {}; });
      throw Object.assign(new Error(problem.error_description || 'This sign-in page has expired. Reload the page.'), { name: 'OptionsError' });
    }
    var assertion = await lib.startAuthentication({ optionsJSON: await answer.json(), useBrowserAutofill: autofill });
    form.elements.namedItem('response').value = JSON.stringify(assertion);
    form.submit();
  }

  function explain(form, error, autofill) {
    // A ceremony replaced by another (the button pressed while autofill waits) is not a failure.
    if (error && error.name === 'AbortError') return;
    if (error && error.name === 'OptionsError') return showError(form, error.message);
    // Autofill was not asked for by the user: its failures are not worth a message.
    if (autofill) return;
    showError(form, 'No passkey was used: the request was cancelled or timed out. Try again, or use another way to sign in.');
  }

  async function supportsAutofill() {
    var credential = window.PublicKeyCredential;
    return Boolean(credential && typeof credential.isConditionalMediationAvailable === 'function' && (await credential.isConditionalMediationAvailable()));
  }

  document.querySelectorAll('form[data-webauthn-options]').forEach(function (form) {
    var supported = Boolean(lib) && lib.browserSupportsWebAuthn();
    form.querySelectorAll('[data-webauthn-start]').forEach(function (button) { button.hidden = !supported; });
    document.querySelectorAll('[data-webauthn-unsupported]').forEach(function (note) { note.hidden = supported; });
    if (!supported) return;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      ceremony(form, false).catch(function (error) { explain(form, error, false); });
    });
    if (form.hasAttribute('data-webauthn-autofill')) {
      supportsAutofill().then(function (yes) {
        if (yes) return ceremony(form, true);
      }).catch(function (error) { explain(form, error, true); });
    }
  });
})();
