/*
 * Single logout (docs/saml.md): an app answered its LogoutRequest inside the frame of the sign-out
 * page; this moves the whole page on to the next app at once instead of waiting for the page's
 * timeout. The frame is ours (same origin), so it may navigate the top page. Our own file: the CSP
 * allows no inline script. Without script the person presses Continue, or the timeout moves on.
 */
(function () {
  'use strict';
  var next = document.getElementById('gh-saml-continue');
  if (!next) return;
  if (window.top !== window.self) window.top.location.replace(next.href);
  else window.location.replace(next.href);
})();
