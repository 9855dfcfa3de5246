/* The campaign form: add a row to a table from its <template> (a fresh row number, so cells of one row stay
   together), delete a row with its messages, and dim the audience fields the chosen source does not use.
   No inline scripts (the pages' Content-Security-Policy forbids them); without this script the form still posts. */
(function () {
  "use strict";
  var next = 1000;

  function addRow(table) {
    var tpl = document.querySelector('template[data-template="' + table + '"]');
    var body = document.querySelector('table[data-table="' + table + '"] > tbody');
    if (!tpl || !body) { return; }
    var n = String(next++);
    var row = tpl.content.querySelector("tr").cloneNode(true);
    row.querySelectorAll("[name], [id]").forEach(function (el) {
      ["name", "id"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) { el.setAttribute(attr, v.split("__i__").join(n).split("--i--").join(n)); }
      });
    });
    row.removeAttribute("id");
    body.appendChild(row);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  function removeRow(button) {
    var row = button.closest("tr");
    var msg = row && row.nextElementSibling;
    if (msg && msg.hasAttribute("data-row-msg")) { msg.remove(); }
    if (row) { row.remove(); }
  }

  function audience() {
    var source = document.querySelector('select[name="audience.source"]');
    if (!source) { return; }
    var uses = {"audience.month": "snapshot", "audience.tiers": "ledger", "audience.members": "list"};
    Object.keys(uses).forEach(function (name) {
      var el = document.querySelector('[name="' + name + '"]');
      var item = el && el.closest(".form-item");
      if (item) { item.classList.toggle("audience-off", source.value !== uses[name] && !el.value); }
    });
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) { event.preventDefault(); addRow(add.getAttribute("data-add-row")); return; }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) { event.preventDefault(); removeRow(remove); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches('select[name="audience.source"]')) { audience(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", audience);
  } else {
    audience();
  }
})();
