// "Book for a caller": free slots from /api/v1/appointments/slots, booked with channel "phone".
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('desk-config').textContent);
  var S = cfg.strings;
  var csrf = document.querySelector('input[name=csrf]').value;
  var form = document.getElementById('book-form');
  if (!form) return;
  function $(id) { return document.getElementById(id); }
  function say(text, isError) {
    $('book-result').textContent = text;
    $('book-result').className = isError ? 'error' : 'notice';
  }
  function error(body) { return S['err.' + body.error] || body.message || S['err.other'].replace('{code}', body.error); }
  var today = new Date();
  $('book-day').value = today.toISOString().slice(0, 10);

  $('book-find').addEventListener('click', function () {
    var url = '/api/v1/appointments/slots?office=' + encodeURIComponent(cfg.office) +
      '&service=' + encodeURIComponent($('book-service').value) + '&day=' + encodeURIComponent($('book-day').value);
    fetch(url, { credentials: 'same-origin' }).then(function (r) {
      return r.json().then(function (body) {
        var select = $('book-slot');
        select.textContent = '';
        if (!r.ok) { say(error(body), true); return; }
        body.slots.filter(function (s) { return s.free > 0; }).forEach(function (s) {
          var option = document.createElement('option');
          option.value = s.start; option.textContent = s.time + ' (' + s.free + ')';
          select.appendChild(option);
        });
        say(select.options.length ? '' : S['book.none'], !select.options.length);
      });
    }).catch(function () { say(S['err.network'], true); });
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var body = {
      service: $('book-service').value, slot_at: $('book-slot').value, name: $('book-name').value,
      phone: $('book-phone').value || null, video: $('book-video').checked, channel: 'phone',
      lang: cfg.lang, office: cfg.office
    };
    fetch('/api/v1/appointments', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (a) {
        if (!r.ok) { say(error(a), true); return; }
        say(S['book.done'].replace('{day}', a.local_day).replace('{time}', a.local_time), false);
        form.reset();
        $('book-day').value = a.local_day;
      });
    }).catch(function () { say(S['err.network'], true); });
  });
})();
