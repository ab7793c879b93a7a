// Polls an import run's progress in the admin and reloads the page when it has finished.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box) return;
  const active = (status) => status === "pending" || status === "running";
  if (!active(box.dataset.status)) return;
  const set = (name, value) => {
    const el = box.querySelector('[data-field="' + name + '"]');
    if (el) el.textContent = value;
  };
  async function poll() {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      box.querySelector("progress").value = data.percent;
      set("percent", data.percent);
      set("processed", data.processed);
      set("total", data.total);
      set("status", data.status_display);
      set("message", data.message);
      if (!active(data.status)) {
        window.location.reload();
        return;
      }
    } catch (err) {
      // network hiccup: try again on the next tick
    }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1000);
})();
