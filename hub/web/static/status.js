// The phone status page: follows one ticket through its own event stream.
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('status-config').textContent);
  var S = cfg.strings;
  var ticket = cfg.ticket;
  var audio = null;
  var tapped = false;  // the browser allows vibration and sound only after a touch on the page
  var FINAL = { done: 1, no_show: 1, cancelled: 1, transferred: 1 };

  function $(id) { return document.getElementById(id); }
  function fill(text, key, value) { return text.replace('{' + key + '}', value); }

  function show() {
    var st = ticket.status;
    $('ticket').className = 'ticket status-' + st;
    $('status').textContent = S['status.' + st] || st;
    var atDesk = st === 'called' || st === 'recalled' || st === 'serving';
    $('call').hidden = !atDesk;
    if (atDesk && ticket.desk_name) {
      $('call').textContent = fill(S[st === 'serving' ? 'phone.being_served' : 'phone.go_to'], 'desk', ticket.desk_name);
    }
    $('waiting').hidden = st !== 'waiting';
    $('cancel').hidden = st !== 'waiting';
    // A closed number: no more alerts to wait for, and nothing to reconnect to.
    var final = !!FINAL[st];
    $('keep-open').hidden = final;
    $('sound-row').hidden = final;
    $('tap-hint').hidden = final || tapped;
    if (final) { $('live').textContent = S['phone.final']; $('live').className = 'live final'; }
    if (st === 'waiting') {
      var p = ticket.position;
      $('position').textContent = !p ? S['phone.unknown'] : p === 1 ? S['phone.position_first'] : fill(S['phone.position_value'], 'n', p - 1);
      var e = ticket.estimated_wait_s;
      $('estimate').textContent = e == null ? S['phone.unknown'] : fill(S['phone.minutes'], 'n', Math.ceil(e / 60));
    }
  }

  function beep() {
    if (!audio) return;
    try {
      [0, 0.35].forEach(function (offset) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.3, audio.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + offset + 0.3);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + offset); osc.stop(audio.currentTime + offset + 0.3);
      });
    } catch (err) { /* no sound on this browser */ }
  }

  function alertCitizen() {
    if (navigator.vibrate) { try { navigator.vibrate([400, 150, 400]); } catch (err) { /* not allowed */ } }
    beep();
  }

  // Browsers allow sound only after a touch: the first touch anywhere unlocks it.
  function unlock() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) { try { audio = new Ctx(); } catch (err) { audio = null; } }
    if (audio && audio.resume) audio.resume();
    var b = $('sound');
    b.setAttribute('aria-pressed', 'true');
    b.textContent = S['phone.sound_on'];
    tapped = true;
    $('tap-hint').hidden = true;
  }
  $('sound').addEventListener('click', unlock);
  document.addEventListener('pointerdown', unlock, { once: true });

  $('cancel').addEventListener('submit', function (e) {
    if (!window.confirm(this.dataset.confirm)) e.preventDefault();
  });

  var source = null;
  function setLive(on) {
    $('live').textContent = on ? S['phone.live'] : S['phone.offline'];
    $('live').className = 'live ' + (on ? 'on' : 'off');
  }
  function update(kind, data) {
    window.__lastEvent = { type: kind, at: performance.timeOrigin + performance.now() };
    if (kind === 'ticket.state') { ticket = data.ticket; }
    else if (kind === 'ticket.position') {
      ticket.position = data.position; ticket.estimated_wait_s = data.estimated_wait_s;
    } else if (data.ticket) {
      ticket.status = data.ticket.status;
      ticket.desk_name = data.ticket.desk_name;
      ticket.recalls = data.ticket.recalls;
    }
    show();
    if (kind === 'ticket.called' || kind === 'ticket.recalled') alertCitizen();
    if (kind === 'ticket.transferred' && data.to) { location.replace(data.to.status_url.replace(/^https?:\/\/[^/]+/, '')); }
    if (FINAL[ticket.status] && source) { source.close(); source = null; show(); }
  }
  function connect() {
    source = new EventSource(cfg.events);
    source.onopen = function () { setLive(true); };
    source.onerror = function () { if (source) setLive(false); };
    ['ticket.state', 'ticket.position', 'ticket.called', 'ticket.recalled', 'ticket.started',
      'ticket.finished', 'ticket.no_show', 'ticket.transferred', 'ticket.cancelled'
    ].forEach(function (kind) {
      source.addEventListener(kind, function (e) { update(kind, JSON.parse(e.data)); });
    });
  }
  show();
  if (!FINAL[ticket.status]) connect();
})();
