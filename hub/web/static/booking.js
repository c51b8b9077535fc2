// Booking pages: the pages work without this file; it only smooths two things.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // After a failed submit, move focus to the list of problems so screen readers announce it.
  const errors = document.getElementById("errors");
  if (errors) errors.focus();
  // A second click while the booking is being sent must not book twice.
  for (const form of document.querySelectorAll("form.booking-form, form.booking-cancel")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) window.setTimeout(() => { button.disabled = true; }, 0);
    });
  }
  // The manage link field selects itself whole, ready to copy.
  const link = document.getElementById("manage-link");
  if (link) link.addEventListener("focus", () => link.select());
});
