// switchyard dashboard: the rollout panels. Polls `api/rollouts` every second for every pool's
// panel, formatted by the server (see rollout-view.ts), and copies it in with textContent and
// setAttribute on known attributes: never innerHTML. Buttons post to the JSON API with the CSRF token.
'use strict';

(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var notice = document.querySelector('[data-notice]');
  var POLL_MS = 1000;
  var noticeTimer = 0;

  function panels() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-rollout]'));
  }

  function panelOf(pool) {
    var all = panels();
    for (var i = 0; i < all.length; i++) if (all[i].dataset.rollout === pool) return all[i];
    return null;
  }

  function rolloutUrl(pool, op) {
    return 'api/pools/' + encodeURIComponent(pool) + '/rollout' + (op ? '/' + op : '');
  }

  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  function showNotice(text, kind) {
    if (!notice) return;
    notice.textContent = text;
    notice.dataset.kind = kind;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, kind === 'error' ? 8000 : 3000);
  }

  function renderSteps(list, steps) {
    var items = steps.map(function (step) {
      var li = document.createElement('li');
      li.dataset.state = step.state;
      if (step.state === 'current') li.setAttribute('aria-current', 'step');
      var share = document.createElement('span');
      share.textContent = step.share;
      var bake = document.createElement('span');
      bake.className = 'muted small';
      bake.textContent = step.bake;
      li.append(share, ' ', bake);
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function apply(panel, view) {
    panel.dataset.status = view ? view.status : 'none';
    if (!view) return;
    // a pool without a rollout at page load has the body in a template: the first rollout brings it in
    var template = panel.querySelector('template[data-rollout-body]');
    if (template) template.replaceWith(template.content.cloneNode(true));
    var cells = panel.querySelectorAll('[data-r]');
    for (var i = 0; i < cells.length; i++) {
      var path = cells[i].dataset.r.split('.');
      var text = path.length === 2 ? view.arms[path[0]][path[1]] : view.cells[path[0]];
      setText(cells[i], text === undefined ? '' : text);
    }
    var list = panel.querySelector('[data-r-steps]');
    var signature = view.steps.map(function (s) { return s.share + s.bake + s.state; }).join('|');
    if (list.dataset.signature !== signature) {
      renderSteps(list, view.steps);
      list.dataset.signature = signature;
    }
    var lines = panel.querySelectorAll('[data-chart]');
    for (var j = 0; j < lines.length; j++) {
      var parts = lines[j].dataset.chart.split('.');
      lines[j].setAttribute('points', view.charts[parts[0]][parts[1]]);
    }
    var maxima = panel.querySelectorAll('[data-r-max]');
    for (var m = 0; m < maxima.length; m++) setText(maxima[m], view.charts[maxima[m].dataset.rMax].max);
    var buttons = panel.querySelectorAll('.r-controls button[data-rollout-op]');
    for (var b = 0; b < buttons.length; b++) buttons[b].disabled = !view.can[buttons[b].dataset.rolloutOp];
  }

  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    fetch('api/rollouts', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        panels().forEach(function (panel) {
          var view = body.pools[panel.dataset.rollout];
          if (view !== undefined) apply(panel, view);
        });
        document.body.dataset.rolloutAt = String(body.at);
      })
      .catch(function () { /* the next poll tries again; the live badge says when the server is gone */ })
      .then(function () { polling = false; });
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) throw new Error(answer.error || 'HTTP ' + response.status);
        return answer;
      });
    });
  }

  function showPreview(panel, preview, title) {
    var box = panel.querySelector('[data-rollout-preview]');
    var total = 0;
    var rows = preview.servers.map(function (server) {
      total += server.share;
      var tr = document.createElement('tr');
      tr.dataset.arm = server.arm;
      [server.id, server.arm, server.share.toFixed(2) + '%'].forEach(function (text, i) {
        var td = document.createElement('td');
        if (i === 2) td.className = 'num';
        td.textContent = text;
        tr.appendChild(td);
      });
      return tr;
    });
    var tbody = box.querySelector('[data-preview="rows"]');
    tbody.replaceChildren.apply(tbody, rows);
    setText(box.querySelector('[data-preview="total"]'), total.toFixed(2) + '%');
    setText(box.querySelector('[data-preview="title"]'), title);
    setText(box.querySelector('[data-preview="note"]'), preview.note);
    box.hidden = false;
  }

  function parsePlan(form) {
    try {
      return JSON.parse(form.elements.plan.value);
    } catch (error) {
      throw new Error('the plan is not JSON: ' + error.message);
    }
  }

  var CONFIRM = {
    promote: function (pool) { return 'Promote the canary of ' + pool + ' now? It takes all traffic, skipping the remaining steps.'; },
    abort: function (pool) { return 'Abort the rollout of ' + pool + '? The canary servers are disabled and their sessions move back.'; },
  };

  // Without JS these forms post urlencoded and come back to the page; with JS they go to the
  // JSON API and the panel changes at the next poll, which is started at once.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.rolloutForm) return;
    event.preventDefault();
    var panel = form.closest('[data-rollout]');
    var pool = panel.dataset.rollout;
    var op = event.submitter && event.submitter.dataset.rolloutOp ? event.submitter.dataset.rolloutOp : form.dataset.rolloutForm;
    var request;
    try {
      request = requestFor(form, op);
    } catch (error) {
      return showNotice(error.message, 'error');
    }
    if (CONFIRM[op] && !window.confirm(CONFIRM[op](pool))) return;
    post(rolloutUrl(pool, request.path), request.body).then(function (answer) {
      if (request.preview) showPreview(panel, answer, request.title);
      else showNotice(op + ': rollout of ' + pool + (answer.status ? ' is ' + answer.status : ''), 'ok');
      if (op === 'abort') form.elements.reason.value = '';
      poll();
    }).catch(function (error) {
      showNotice(op + ' (' + pool + ') failed: ' + error.message, 'error');
    });
  });

  function requestFor(form, op) {
    if (op === 'preview' && form.dataset.rolloutForm === 'preview') {
      var share = Number(form.elements.share.value);
      return { path: 'preview', body: { share: share }, preview: true, title: 'At ' + share + '% to the canary:' };
    }
    if (op === 'preview') {
      var step = Number(form.elements.step.value) - 1;
      return { path: 'preview', body: { plan: parsePlan(form), step: step }, preview: true, title: 'At step ' + (step + 1) + ' of this plan:' };
    }
    if (op === 'start') return { path: '', body: { plan: parsePlan(form) } };
    if (op === 'abort') {
      var reason = form.elements.reason.value.trim();
      return { path: 'abort', body: reason ? { reason: reason } : {} };
    }
    return { path: op, body: {} };
  }

  poll();
  setInterval(poll, POLL_MS);
})();
