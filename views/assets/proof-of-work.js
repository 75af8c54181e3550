// The proof-of-work check of our forms (views/partials/proof-of-work.ejs). A file of its own
// because the pages' CSP allows scripts from 'self' only. The ALTCHA widget (served beside this
// file, its "external" build: no inline styles, no workers from blob: URLs) solves with the worker
// script we serve too, so everything stays under script-src 'self' (workers fall back to it).
// Widgets are written without `auto`, so none starts before the worker is registered here; each
// then starts as its data-pow-auto says: `onload` at once, `onsubmit` when its form is sent.
const worker = new URL('altcha-pbkdf2-worker.js', import.meta.url).href;
globalThis.$altcha.algorithms.set('PBKDF2/SHA-256', () => new Worker(worker));

for (const widget of document.querySelectorAll('altcha-widget[data-pow-auto]')) {
  const auto = widget.getAttribute('data-pow-auto') === 'onsubmit' ? 'onsubmit' : 'onload';
  // Setting `auto` is all it takes: `onload` makes the widget start verifying by itself (calling
  // verify() as well would start a second run that aborts the first and ends in the error state).
  const start = () => widget.configure({ auto });
  if (typeof widget.configure === 'function') start();
  else widget.addEventListener('load', start, { once: true });
}
