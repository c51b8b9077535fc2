// High-contrast toggle, remembered in a cookie so the server renders the page already in it.
(function () {
  'use strict';
  var button = document.querySelector('.theme-toggle');
  if (!button) return;
  button.addEventListener('click', function () {
    var on = document.documentElement.classList.toggle('hc');
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    document.cookie = 'o360_theme=' + (on ? 'hc' : 'default') + '; path=/; max-age=31536000; SameSite=Lax';
  });
})();
