// Citizen feedback form (templates/feedback_form.html): 1-5 stars and an optional comment.
(function () {
  'use strict';
  var form = document.getElementById('feedback');
  if (!form) return;
  var stars = form.querySelectorAll('.feedback-star');
  var result = form.querySelector('.feedback-result');
  var rating = 0;

  // On the status page, show the form once the live status turns "done".
  var ticket = document.getElementById('ticket');
  if (ticket && form.hidden && window.MutationObserver) {
    new MutationObserver(function () {
      if (/\bstatus-done\b/.test(ticket.className)) form.hidden = false;
    }).observe(ticket, { attributes: true, attributeFilter: ['class'] });
  }

  Array.prototype.forEach.call(stars, function (star) {
    star.addEventListener('click', function () {
      rating = parseInt(star.value, 10);
      Array.prototype.forEach.call(stars, function (other) {
        var on = parseInt(other.value, 10) <= rating;
        other.classList.toggle('on', on);
        other.setAttribute('aria-pressed', other === star ? 'true' : 'false');
      });
    });
  });

  function finish(text) {
    result.textContent = text;
    Array.prototype.forEach.call(form.querySelectorAll('button, textarea'), function (el) {
      el.disabled = true;
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!rating) { result.textContent = form.dataset.choose; return; }
    var comment = form.querySelector('textarea').value.trim();
    form.querySelector('.feedback-send').disabled = true;
    fetch(form.dataset.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'omit',
      body: JSON.stringify({ rating: rating, comment: comment || null })
    }).then(function (response) {
      if (response.status === 201) return finish(form.dataset.thanks);
      return response.json().then(function (body) {
        if (body.error === 'feedback_given') return finish(form.dataset.given);
        throw new Error(body.error);
      });
    }).catch(function () {
      result.textContent = form.dataset.error;
      form.querySelector('.feedback-send').disabled = false;
    });
  });
})();
