/* The research admin: give every form control an accessible name.
 * - Tabular inline rows (e.g. an experiment's variants) put inputs in table cells under a column
 *   header, with no <label>: each input is named "<column> (<inline> row N)".
 * - select2 (autocomplete fields) builds a search box with no label: it is named after the
 *   original <select>'s label.
 * Runs at load and again whenever the admin adds rows or widgets. */
(function () {
  "use strict";
  function labelText(el) {
    if (!el || !el.id) return "";
    const label = document.querySelector('label[for="' + el.id + '"]');
    return label ? label.textContent.replace(/[:*]\s*$/, "").trim() : "";
  }
  function nameTabularInlines(root) {
    root.querySelectorAll(".tabular table").forEach((table) => {
      const heads = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
      const title = (table.querySelector("caption, h2") || table.closest(".tabular").querySelector("h2") || {}).textContent || "";
      table.querySelectorAll("tbody tr").forEach((tr, r) => {
        Array.from(tr.children).forEach((td, c) => {
          td.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((field) => {
            if (field.getAttribute("aria-label") || labelText(field)) return;
            const head = heads[c] || field.name;
            field.setAttribute("aria-label", head + (title ? " (" + title.trim() + ", row " + (r + 1) + ")" : ""));
          });
        });
      });
    });
  }
  function nameSelect2(root) {
    root.querySelectorAll(".select2-container").forEach((container) => {
      const select = container.previousElementSibling;
      const name = labelText(select) || (select && select.name) || "Search";
      container.querySelectorAll(".select2-search__field").forEach((input) => {
        if (!input.getAttribute("aria-label")) input.setAttribute("aria-label", "Search and add: " + name);
      });
    });
  }
  function run() { nameTabularInlines(document); nameSelect2(document); }
  document.addEventListener("DOMContentLoaded", () => {
    run();
    let pending = false;
    new MutationObserver(() => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; run(); });
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
