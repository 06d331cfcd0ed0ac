/* Micro-app free login (dingtalk-api.md §3.1): ask the DingTalk JSAPI for a one-time code for
 * this corp and post it to idaas. The page carries the corp id and the app's client id. */
(function () {
  "use strict";
  var box = document.getElementById("dt-micro");
  var form = document.getElementById("dt-micro-form");
  if (!box || !form) { return; }

  function fail(detail) {
    document.getElementById("dt-micro-status").hidden = true;
    var error = document.getElementById("dt-micro-error");
    error.querySelector(".detail").textContent = detail ? "(" + detail + ")" : "";
    error.hidden = false;
  }

  function submit(code) {
    if (!code) { fail("no code"); return; }
    form.elements.code.value = code;
    form.submit();
  }

  var dd = window.dd;
  if (!dd) { fail("DingTalk JSAPI not loaded"); return; }
  var args = {
    corpId: box.dataset.corpId,
    clientId: box.dataset.clientId,
    onSuccess: function (result) { submit(result && result.code); },
    onFail: function (error) {
      fail(error && (error.errorMessage || error.errorCode) || "");
    }
  };
  if (typeof dd.requestAuthCode === "function") {
    dd.requestAuthCode(args);
  } else if (dd.runtime && dd.runtime.permission) {
    dd.runtime.permission.requestAuthCode(args);
  } else {
    fail("requestAuthCode unavailable");
  }
})();
