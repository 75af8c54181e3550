/*
 * "Add a passkey" on the account console's Security page: asks the server for registration
 * options, lets the browser create the credential (@simplewebauthn/browser, served beside this
 * file), and sends it back. Both requests are JSON with the page's CSRF token; a sign-in that is no
 * longer fresh comes back as 401 with where to sign in again. Our own file: the CSP allows no
 * inline script.
 */
(function () {
  'use strict';
  var form = document.getElementById('gh-passkey-form');
  var status = document.getElementById('gh-passkey-status');
  var lib = window.SimpleWebAuthnBrowser;
  if (!form || !status) return;
  var button = form.querySelector('button[type="submit"]');

  function show(message) {
    status.textContent = message;
    status.hidden = false;
  }

  if (!lib || !lib.browserSupportsWebAuthn()) {
    button.disabled = true;
    show('This browser cannot create passkeys.');
    return;
  }

  /** POSTs JSON; answers the parsed body, or undefined after showing what went wrong (or leaving to sign in). */
  async function post(url, body) {
    var response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    var answer = await response.json().catch(function () {
      return {};
    });
    if (response.status === 401 && typeof answer.location === 'string') {
      window.location.assign(answer.location);
      return undefined;
    }
    if (!response.ok) {
      show(answer.error_description || 'The passkey could not be added. Try again.');
      return undefined;
    }
    return answer;
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    status.hidden = true;
    button.disabled = true;
    var csrf = form.elements.namedItem('csrf').value;
    var name = form.elements.namedItem('name').value;
    try {
      var started = await post(form.action, { csrf: csrf, name: name });
      if (!started) return;
      var credential = await lib.startRegistration({ optionsJSON: started.options });
      var done = await post(form.dataset.verifyUrl, { csrf: csrf, registration_id: started.registration_id, name: name, response: credential });
      if (done) window.location.assign(done.location);
    } catch (error) {
      // The browser's own errors: the user cancelled, or this device already holds a passkey here.
      show(error && error.name === 'InvalidStateError' ? 'This device already has a passkey for your account.' : 'No passkey was created (cancelled or not allowed).');
    } finally {
      button.disabled = false;
    }
  });
})();
