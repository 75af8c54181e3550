/*
 * The account console's sign-in requests (CIBA): keeps the list current while the page is open.
 * The server sends the whole list over a server-sent event stream whenever it may have changed
 * (a request made or decided on any instance) and every few seconds; each item's remaining time is
 * counted down here and an expired one leaves the list. Text goes in through textContent only.
 * Our own file: the CSP allows no inline script.
 */
(function () {
  'use strict';
  var list = document.getElementById('gh-ciba-list');
  var empty = document.getElementById('gh-ciba-empty');
  var status = document.getElementById('gh-ciba-status');
  if (!list || !empty || !status || typeof window.EventSource !== 'function') return;

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeLeft(expiresAt) {
    var seconds = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
    if (!(seconds > 0)) return undefined;
    var minutes = Math.floor(seconds / 60);
    return minutes > 0 ? minutes + ' min ' + (seconds % 60) + ' s left' : seconds + ' s left';
  }

  /** Drops expired items and refreshes every remaining one's time. */
  function tick() {
    var items = list.querySelectorAll('li[data-expires-at]');
    for (var i = 0; i < items.length; i += 1) {
      var left = timeLeft(items[i].getAttribute('data-expires-at'));
      if (!left) items[i].remove();
      else {
        var time = items[i].querySelector('.gh-ciba-left');
        if (time) time.textContent = left;
      }
    }
    empty.hidden = list.children.length > 0;
  }

  function render(requests) {
    var items = [];
    for (var i = 0; i < requests.length; i += 1) {
      var request = requests[i];
      var item = element('li');
      item.setAttribute('data-expires-at', request.expires_at);
      var text = element('div');
      text.appendChild(element('strong', '', request.client));
      if (request.binding_message) text.appendChild(element('span', 'gh-ciba-binding', '\u201c' + request.binding_message + '\u201d'));
      text.appendChild(element('span', 'gh-muted gh-ciba-left', ''));
      item.appendChild(text);
      var link = element('a', 'gh-btn gh-btn-primary', 'Review');
      link.href = request.url;
      item.appendChild(link);
      items.push(item);
    }
    list.replaceChildren.apply(list, items);
    tick();
  }

  var source = new EventSource(list.getAttribute('data-events-url'), { withCredentials: true });
  source.onmessage = function (event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (data && Array.isArray(data.requests)) {
      status.hidden = true;
      render(data.requests);
    }
  };
  source.onerror = function () {
    // Closed for good (signed out, refused): say so; otherwise the browser reconnects by itself.
    if (source.readyState === EventSource.CLOSED) {
      status.textContent = 'This list stopped updating. Reload the page to see new requests.';
      status.hidden = false;
    }
  };
  tick();
  setInterval(tick, 1000);
})();
