// The desk panel: buttons and shortcuts call the desk API with the session's CSRF token; the
// office's event stream (EventSource sends the session cookie) triggers a fresh read of the queue.
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('desk-config').textContent);
  var S = cfg.strings;
  var csrf = document.querySelector('input[name=csrf]').value;
  var base = '/api/v1/desks/' + encodeURIComponent(cfg.desk) + '/';
  var office = '?office=' + encodeURIComponent(cfg.office);
  var view = { current: null, paused: false, serverAt: 0, fetchedAt: 0 };
  var busy = false;
  var pending = null;

  function $(id) { return document.getElementById(id); }
  function buttons() { return document.querySelectorAll('button.act'); }
  function mmss(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }
  function minutes(seconds) { return Math.round(seconds / 60) + ' min'; }
  function say(text, isError) {
    var line = $('message');
    line.textContent = text || '';
    line.className = 'message-line' + (isError ? ' error' : '');
  }
  function setLive(on) {
    var pill = $('live');
    pill.textContent = on ? S['desk.live'] : S['desk.offline'];
    pill.className = 'pill ' + (on ? 'on' : 'off');
  }

  function allowed(action) {
    var c = view.current, st = c ? c.status : null;
    if (action === 'pause' || action === 'resume') return true;
    if (action === 'next') return !view.paused && (!c || st === 'serving');
    if (action === 'recall' || action === 'start' || action === 'no-show') {
      return st === 'called' || st === 'recalled';
    }
    if (action === 'finish' || action === 'transfer') return st === 'serving';
    return false;
  }

  // While an action is on its way every button is off, so a second press is never lost unseen.
  function enable() {
    buttons().forEach(function (b) { b.disabled = busy || !allowed(b.dataset.action); });
  }

  function render(q) {
    view.serverAt = Date.parse(q.at);
    view.fetchedAt = Date.now();
    var desk = null;
    q.desks.forEach(function (d) { if (d.id === cfg.desk) desk = d; });
    view.paused = !!desk && desk.state === 'paused';
    view.current = desk ? desk.current : null;
    var c = view.current;
    $('desk-state').textContent = view.paused ? S['desk.paused'] : S['desk.open'];
    $('desk-state').className = 'pill ' + (view.paused ? 'off' : 'on');
    $('number').textContent = c ? c.number : '—';
    $('service').textContent = c ? (cfg.names[c.service] || c.service) : '—';
    // Staff wording ("Called again (2)"), not the citizen's ("You are called again").
    $('status').textContent = c ? (S['desk.st.' + c.status] || c.status).replace('{n}', c.recalls || 1) : S['desk.none'];
    document.body.dataset.ticketStatus = c ? c.status : 'none';
    showAppointment(null);
    if (c && c.channel === 'appointment') appointmentOf(c);
    var pause = document.querySelector('[data-action=pause],[data-action=resume]');
    pause.dataset.action = view.paused ? 'resume' : 'pause';
    pause.querySelector('.act-label').textContent = view.paused ? S['desk.resume'] : S['desk.pause'];
    enable();
    q.services.forEach(function (s) {
      var li = document.querySelector('#queue-list li[data-service="' + s.service + '"]');
      if (!li) return;
      li.querySelector('.qcount').textContent = s.waiting + ' ' + S['desk.waiting'];
      li.querySelector('.qwait').textContent = s.waiting ? S['desk.longest'] + ' ' + minutes(s.longest_wait_s) : '';
    });
    tick();
  }

  // An appointment's slot and video link come from the day's appointment list (staff may read it).
  var appointments = {};
  function showAppointment(a) {
    $('slot-row').hidden = !a;
    $('video-row').hidden = !(a && a.video_url);
    if (a) $('slot').textContent = a.local_time;
    if (a && a.video_url) $('video').href = a.video_url;
  }
  function appointmentOf(c) {
    if (!cfg.booking) return;
    if (c.id in appointments) { showAppointment(appointments[c.id]); return; }
    var d = new Date(Date.parse(c.issued_at));
    var day = d.getFullYear() + '-' + ('0' + (d.getMonth() + 1)).slice(-2) + '-' + ('0' + d.getDate()).slice(-2);
    fetch('/api/v1/appointments?office=' + encodeURIComponent(cfg.office) + '&day=' + day, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        appointments[c.id] = list.filter(function (a) { return a.ticket_id === c.id; })[0] || null;
        if (view.current && view.current.id === c.id) showAppointment(appointments[c.id]);
      })
      .catch(function () { /* shown without its slot */ });
  }

  function tick() {
    var c = view.current;
    if (!c) { $('waited').textContent = '—'; return; }
    var now = view.serverAt + (Date.now() - view.fetchedAt);
    $('waited').textContent = mmss((now - Date.parse(c.issued_at)) / 1000);
  }

  function refresh() {
    return fetch('/api/v1/queue' + office, { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) { location.href = '/signin?next=/desk'; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (q) { if (q) render(q); })
      .catch(function () { say(S['err.network'], true); });
  }

  // Events arrive in bursts (called + queue.changed): one read of the queue per burst.
  function refreshSoon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refresh(); }, 30);
  }

  function act(action) {
    if (busy || !allowed(action)) return;
    busy = true;
    var focused = document.activeElement;  // a disabled button loses the keyboard's focus
    enable();
    var init = { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } };
    if (action === 'transfer') {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify({ service: $('transfer-to').value });
    }
    window.__deskClickAt = performance.timeOrigin + performance.now();
    fetch(base + action + office, init)
      .then(function (r) {
        if (r.status === 204) { say(S['desk.nobody']); return refresh(); }
        return r.json().then(function (body) {
          if (r.ok) { say(''); return refresh(); }
          if (r.status === 401) { location.href = '/signin?next=/desk'; return null; }
          say(S['err.' + body.error] || S['err.other'].replace('{code}', body.error), true);
          return refresh();
        });
      })
      .catch(function () { say(S['err.network'], true); })
      .then(function () {
        busy = false;
        enable();
        if (focused && focused.classList && focused.classList.contains('act') && !focused.disabled &&
            document.activeElement === document.body) focused.focus();
      });
  }

  buttons().forEach(function (b) {
    b.addEventListener('click', function () { act(b.dataset.action); });
  });
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var tag = (e.target && e.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    var key = e.key.toUpperCase();
    var match = null;
    buttons().forEach(function (b) { if (b.dataset.key === key) match = b; });
    if (match) { e.preventDefault(); act(match.dataset.action); }
  });

  var source = new EventSource('/api/v1/events' + office);
  source.onopen = function () { setLive(true); refresh(); };
  source.onerror = function () { setLive(false); };
  source.onmessage = refreshSoon;
  ['ticket.issued', 'ticket.called', 'ticket.recalled', 'ticket.started', 'ticket.finished',
    'ticket.no_show', 'ticket.transferred', 'ticket.cancelled', 'queue.changed', 'desk.paused',
    'desk.resumed'].forEach(function (type) { source.addEventListener(type, refreshSoon); });
  setInterval(tick, 1000);
  refresh();
})();
