// switchyard dashboard: live updates over Server-Sent Events and the server actions.
// Data only ever goes into the page through textContent, .title, dataset and setAttribute on
// known attributes: never innerHTML. The server formats every value (see view-model.ts).
'use strict';

(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var rowTemplate = document.getElementById('server-row');
  var live = document.querySelector('[data-live]');
  var updated = document.querySelector('[data-updated]');
  var fleet = document.querySelector('[data-fleet]');
  var notice = document.querySelector('[data-notice]');
  var auditBody = document.querySelector('[data-audit]');
  var auditEmpty = document.querySelector('[data-audit-empty]');
  var noticeTimer = 0;

  function serverUrl(pool, id, op) {
    return 'api/pools/' + encodeURIComponent(pool) + '/servers/' + encodeURIComponent(id) + (op ? '/' + op : '');
  }

  function poolSection(name) {
    var sections = document.querySelectorAll('[data-pool]');
    for (var i = 0; i < sections.length; i++) if (sections[i].dataset.pool === name) return sections[i];
    return null;
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  // The points span the whole width: a new server's line fills it at once and
  // compresses as history grows (the server keeps the last 60 samples).
  function drawTrend(polyline, values) {
    if (!polyline) return;
    var max = 1;
    for (var i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
    var step = values.length > 1 ? 60 / (values.length - 1) : 0;
    var points = [];
    for (var j = 0; j < values.length; j++) {
      points.push((j * step).toFixed(1) + ',' + (19 - (values[j] / max) * 17).toFixed(1));
    }
    polyline.setAttribute('points', points.join(' '));
  }

  function fillRow(row, pool, server) {
    row.dataset.server = server.id;
    row.dataset.state = server.state;
    row.dataset.health = server.health;
    row.dataset.backup = String(server.backup);
    var cells = row.querySelectorAll('[data-f]');
    for (var i = 0; i < cells.length; i++) {
      var name = cells[i].dataset.f;
      setText(cells[i], server.cells[name] === undefined ? '' : server.cells[name]);
      var title = server.titles[name];
      if (title !== undefined && cells[i].title !== title) cells[i].title = title;
    }
    drawTrend(row.querySelector('[data-trend]'), server.trend);
    var buttons = row.querySelectorAll('button[data-op]');
    for (var b = 0; b < buttons.length; b++) {
      var op = buttons[b].dataset.op;
      buttons[b].formAction = serverUrl(pool, server.id, op);
      buttons[b].disabled = (op === 'drain' && server.state === 'draining') ||
        (op === 'enable' && server.state === 'active') || (op === 'disable' && server.state === 'disabled');
    }
    var weight = row.querySelector('input[name="weight"]');
    if (weight) weight.placeholder = server.cells.weight;
  }

  function applyPool(pool) {
    var section = poolSection(pool.name);
    if (!section) return;
    setText(section.querySelector('[data-pool-summary]'), pool.summary);
    var tbody = section.querySelector('tbody');
    var existing = new Map();
    Array.prototype.forEach.call(tbody.rows, function (row) { existing.set(row.dataset.server, row); });
    var previous = null;
    pool.servers.forEach(function (server) {
      var row = existing.get(server.id);
      if (row) existing.delete(server.id);
      else row = rowTemplate.content.firstElementChild.cloneNode(true);
      fillRow(row, pool.name, server);
      var expected = previous ? previous.nextElementSibling : tbody.firstElementChild;
      if (row !== expected) tbody.insertBefore(row, expected);
      previous = row;
    });
    existing.forEach(function (row) { row.remove(); });
  }

  function applyAudit(entries) {
    var rows = entries.map(function (entry) {
      var tr = document.createElement('tr');
      [entry.time, entry.user, entry.action, entry.target, entry.change].forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      return tr;
    });
    auditBody.replaceChildren.apply(auditBody, rows);
    if (auditEmpty) auditEmpty.hidden = entries.length > 0;
  }

  function apply(view) {
    view.pools.forEach(applyPool);
    if (view.audit) applyAudit(view.audit);
    setText(updated, view.time);
    if (fleet && view.fleet) {
      setText(fleet, view.fleet.text);
      fleet.dataset.fleetState = view.fleet.state;
    }
    document.body.dataset.updatedAt = String(view.at);
  }

  function showNotice(text, kind) {
    notice.textContent = text;
    notice.dataset.kind = kind;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, kind === 'error' ? 8000 : 3000);
  }

  function connect() {
    // the page is rendered saying it is not live (true without scripts); from here it may become so
    live.dataset.live = 'connecting';
    setText(live, 'connecting…');
    var source = new EventSource('events');
    source.addEventListener('snapshot', function (event) {
      live.dataset.live = 'live';
      setText(live, 'live');
      apply(JSON.parse(event.data));
    });
    source.addEventListener('error', function () {
      live.dataset.live = 'reconnecting';
      setText(live, 'reconnecting…');
    });
  }

  // Forms work without JS (urlencoded POST, redirect back); with JS they go to the JSON API
  // and the page changes through the stream, like every other open dashboard.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.form) return;
    event.preventDefault();
    var request = form.dataset.form === 'add' ? addRequest(form) : serverRequest(form, event.submitter);
    if (!request) return;
    // removing cannot be undone from here: the server's URL would have to be typed in again
    if (request.op === 'remove' && !window.confirm('Remove ' + request.id + ' from the pool? It drains first.')) return;
    fetch(request.url, {
      method: request.method,
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(request.body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error(body.error || 'HTTP ' + response.status);
        showNotice(request.done, 'ok');
        if (form.dataset.form === 'add') form.reset();
        else if (request.op === 'weight') form.elements.weight.value = '';
      });
    }).catch(function (error) {
      showNotice(request.failed + ': ' + error.message, 'error');
    });
  });

  function addRequest(form) {
    var weight = form.elements.weight.value;
    var body = { id: form.elements.id.value, url: form.elements.url.value };
    if (weight !== '') body.weight = Number(weight);
    var pool = form.closest('[data-pool]').dataset.pool;
    return { url: form.getAttribute('action'), method: 'POST', body: body, op: 'add',
      done: 'added ' + body.id + ' to ' + pool, failed: 'could not add ' + body.id };
  }

  function serverRequest(form, button) {
    var row = form.closest('tr');
    var pool = form.closest('[data-pool]').dataset.pool;
    var id = row.dataset.server;
    var op = button && button.dataset.op ? button.dataset.op : 'weight';
    var body = {};
    if (op === 'weight') {
      var value = form.elements.weight.value;
      body.weight = value === '' ? null : Number(value);
    }
    return {
      url: op === 'remove' ? serverUrl(pool, id, '') : serverUrl(pool, id, op),
      method: op === 'remove' ? 'DELETE' : 'POST',
      body: body,
      op: op,
      id: id,
      done: op === 'weight' ? 'weight of ' + id + ' set to ' + body.weight : op + ': ' + id,
      failed: op + ' ' + id + ' failed',
    };
  }

  connect();
})();
