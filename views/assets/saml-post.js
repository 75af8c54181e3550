/*
 * The SAML HTTP-POST binding (SAML Bindings 3.5): the page carries the message in a form addressed
 * to the app, and this submits it at once. Our own file: the CSP allows no inline script. Without
 * script the person presses the button.
 */
(function () {
  'use strict';
  var form = document.getElementById('gh-saml-post');
  if (form) form.submit();
})();
