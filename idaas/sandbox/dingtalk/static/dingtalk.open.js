/* idaas DingTalk sandbox: a stand-in for dingtalk.open.js (dingtalk-api.md §3.1 and §3.3).
 *
 * Exposes dd.requestAuthCode, dd.runtime.permission.requestAuthCode, dd.getAuthCode,
 * dd.config, dd.ready and dd.error. Codes are issued by the sandbox for the "current DingTalk
 * user" chosen through POST /_sandbox/current-user (or the sandbox home page).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src).origin : "";
  var configured = null;
  var readyCallbacks = [];
  var errorCallbacks = [];
  var readyState = "pending";

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) { return response.json(); });
  }

  function failure(error) {
    return { errorCode: "-1", errorMessage: String(error && error.message || error) };
  }

  function requestCode(args, shape) {
    args = args || {};
    var request = post("/_sandbox/jsapi/requestAuthCode", {
      corpId: args.corpId || null,
      clientId: args.clientId || null,
      url: window.location.href
    }).then(function (result) {
      if (!result.code) { throw result; }
      return shape(result.code);
    });
    request.then(function (value) {
      if (args.onSuccess) { args.onSuccess(value); }
      if (args.success) { args.success(value); }
      if (args.complete) { args.complete(value); }
    }, function (error) {
      var detail = error && error.errorCode ? error : failure(error);
      if (args.onFail) { args.onFail(detail); }
      if (args.fail) { args.fail(detail); }
      if (args.complete) { args.complete(detail); }
    });
    return request;
  }

  function settle() {
    if (readyState !== "pending") { return; }
    if (!configured) { readyState = "ready"; flush(); return; }
    var body = Object.assign({}, configured, { url: window.location.href });
    post("/_sandbox/jsapi/config", body).then(function (result) {
      if (result.ok) { readyState = "ready"; } else { readyState = result; }
      flush();
    }, function (error) { readyState = failure(error); flush(); });
  }

  function flush() {
    if (readyState === "ready") {
      readyCallbacks.splice(0).forEach(function (cb) { cb(); });
    } else if (readyState !== "pending") {
      errorCallbacks.forEach(function (cb) { cb(readyState); });
    }
  }

  var dd = {
    version: "sandbox",
    env: { platform: "pc", sandbox: true },
    config: function (options) { configured = options || {}; },
    ready: function (callback) {
      readyCallbacks.push(callback);
      if (readyState === "ready") { flush(); } else { setTimeout(settle, 0); }
    },
    error: function (callback) { errorCallbacks.push(callback); },
    /* H5, current API: resolves {code} (§3.1). */
    requestAuthCode: function (args) {
      return requestCode(args, function (code) { return { code: code }; });
    },
    runtime: {
      permission: {
        /* H5, legacy API: no dd.config needed (§3.1). */
        requestAuthCode: function (args) {
          return requestCode(args, function (code) { return { code: code }; });
        }
      }
    },
    /* Mini-program API: success({authCode}) (§3.1). */
    getAuthCode: function (args) {
      return requestCode(args, function (code) { return { authCode: code }; });
    }
  };
  window.dd = dd;
})();
