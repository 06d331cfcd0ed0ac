/* Micro-app free login (dingtalk-api.md §3.1): ask the DingTalk JSAPI for a one-time code for
 * this corp and post it to idaas. The page carries the corp id, the app's client id and its
 * messages in the page's language (data-msg-*); DingTalk's own error code goes in small print. */
(function () {
  "use strict";
  var box = document.getElementById("dt-micro");
  var form = document.getElementById("dt-micro-form");
  if (!box || !form) { return; }

  function fail(message, code) {
    document.getElementById("dt-micro-status").hidden = true;
    var error = document.getElementById("dt-micro-error");
    error.querySelector(".detail").textContent = message || "";
    var tech = error.querySelector(".tech");
    if (code) { tech.querySelector(".code").textContent = String(code); } else { tech.hidden = true; }
    error.hidden = false;
    document.getElementById("dt-micro-actions").hidden = false;
  }

  function submit(code) {
    if (!code) { fail(box.dataset.msgNoCode, "no_code"); return; }
    form.elements.code.value = code;
    form.submit();
  }

  var dd = window.dd;
  if (!dd) { fail(box.dataset.msgNoJsapi, "jsapi_not_loaded"); return; }
  var args = {
    corpId: box.dataset.corpId,
    clientId: box.dataset.clientId,
    onSuccess: function (result) { submit(result && result.code); },
    onFail: function (error) {
      fail(box.dataset.msgFailed, error && (error.errorCode || error.errorMessage) || "");
    }
  };
  if (typeof dd.requestAuthCode === "function") {
    dd.requestAuthCode(args);
  } else if (dd.runtime && dd.runtime.permission) {
    dd.runtime.permission.requestAuthCode(args);
  } else {
    fail(box.dataset.msgUnsupported, "request_auth_code_unavailable");
  }
})();
