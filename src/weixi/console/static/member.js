/* The member page: the referral code's copy button (the clipboard API where the page is served over HTTPS, a
   selected text field otherwise). No inline scripts (the page's Content-Security-Policy). */
(function () {
  "use strict";

  function copied(button) {
    var was = button.textContent;
    button.textContent = button.getAttribute("data-done") || was;
    button.setAttribute("data-copied", "yes");
    setTimeout(function () { button.textContent = was; }, 2000);
  }

  function fallback(text, button) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "copy-buffer";
    document.body.appendChild(field);
    field.select();
    try { document.execCommand("copy"); copied(button); } catch (e) { /* the code stays on the page to copy by hand */ }
    document.body.removeChild(field);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, function () { fallback(text, button); });
    } else {
      fallback(text, button);
    }
  });
}());
