// High-contrast theme and low-reach layout toggles, each remembered in a cookie so the server
// renders the page already in it (a class on <html>: "hc", "low-reach").
(function () {
  'use strict';
  function toggle(selector, className, cookie, on, off) {
    var button = document.querySelector(selector);
    if (!button) return;
    button.addEventListener('click', function () {
      var active = document.documentElement.classList.toggle(className);
      button.setAttribute('aria-pressed', active ? 'true' : 'false');
      document.cookie = cookie + '=' + (active ? on : off) + '; path=/; max-age=31536000; SameSite=Lax';
    });
  }
  toggle('.theme-toggle', 'hc', 'o360_theme', 'hc', 'default');
  toggle('.layout-toggle', 'low-reach', 'o360_layout', 'low', 'default');
})();
