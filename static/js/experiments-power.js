// Live power calculation in the experiment admin form: asks the admin's power endpoint (which
// calls studies/stats) whenever α, the minimum detectable effect, the assumed sd, the power, the assumed ICC,
// the expected sessions per participant or the design change. The plan is stated in participants.
(function () {
  "use strict";
  function init() {
    var out = document.getElementById("power-plan");
    if (!out) return;
    var fields = ["alpha", "minimum_detectable_effect", "outcome_sd", "power", "assumed_icc",
                  "sessions_per_participant", "design"];
    var inputs = fields.map(function (f) { return document.getElementById("id_" + f); });
    if (inputs.some(function (el) { return !el; })) return;  // frozen (read-only) design: nothing to update
    var timer = null;
    function update() {
      var params = new URLSearchParams({
        alpha: inputs[0].value, mde: inputs[1].value, sd: inputs[2].value, power: inputs[3].value,
        icc: inputs[4].value, sessions: inputs[5].value, design: inputs[6].value,
        weights: out.dataset.weights || "", control: out.dataset.control || "0"
      });
      fetch(out.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) { out.textContent = data.text || ("Cannot plan: " + data.error); })
        .catch(function () { out.textContent = "The power calculation is unavailable right now."; });
    }
    inputs.forEach(function (el) {
      ["input", "change"].forEach(function (kind) {
        el.addEventListener(kind, function () { clearTimeout(timer); timer = setTimeout(update, 250); });
      });
    });
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
