// 100-mm visual analogue scales: the hidden field stays empty until the person moves the marker
// (by pointer or keyboard: arrows, Page Up/Down, Home/End), so an untouched line is "missing",
// never a silent 50.
(function () {
  document.querySelectorAll("input.vas-line").forEach(function (line) {
    var target = document.getElementById(line.dataset.target);
    if (target && target.value !== "") {
      line.value = target.value;
      line.dataset.untouched = "0";
      line.setAttribute("aria-valuetext", interpolate(gettext("%s of 100"), [target.value]));
    }
    function set() {
      line.dataset.untouched = "0";
      target.value = line.value;
      line.setAttribute("aria-valuetext", interpolate(gettext("%s of 100"), [line.value]));
    }
    line.addEventListener("input", set);
    line.addEventListener("change", set);
  });
})();
