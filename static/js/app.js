/* idaas: small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) { return; }
      var text = Array.prototype.map.call(source.querySelectorAll("code"), function (node) {
        return node.textContent.trim();
      }).join("\n");
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = button.getAttribute("data-copied") || "Copied";
      });
    });
  });
  var autosubmit = document.querySelector("form[data-autosubmit]");
  if (autosubmit) { autosubmit.submit(); }
  var follow = document.querySelector("[data-autofollow]");
  if (follow) {
    window.setTimeout(function () { window.location.assign(follow.href); }, 1500);
  }
})();
