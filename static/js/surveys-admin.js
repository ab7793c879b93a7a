// Survey admin page: follow pending/running label runs and reload when one finishes.
(function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("tr[data-run-status='pending'], tr[data-run-status='running']"));
  if (!rows.length) return;
  async function poll() {
    let finished = false;
    for (const row of rows) {
      try {
        const response = await fetch(row.dataset.progressUrl, { credentials: "same-origin" });
        if (!response.ok) continue;
        const run = await response.json();
        const bar = row.querySelector("progress");
        if (bar) bar.value = run.percent;
        row.querySelector("[data-field='message']").textContent = run.message;
        row.querySelector("[data-field='status']").textContent = run.status;
        if (run.status === "done" || run.status === "failed") finished = true;
      } catch (err) { /* try again on the next tick */ }
    }
    if (finished) window.location.reload();
    else window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 1500);
})();
