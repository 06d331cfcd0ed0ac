/* idaas DingTalk sandbox: a stand-in for ddlogin.js, the embedded QR login (dingtalk-api.md §2.2).
 *
 * window.DTFrameLogin(frameParams, loginParams, onSuccess, onError) puts the sandbox's
 * /oauth2/auth page in an iframe inside #frameParams.id. When a person confirms there, the
 * frame posts {redirectUrl, authCode, state} to this page (origin-checked) and onSuccess gets
 * it, as with the real script; the page then navigates to redirectUrl itself.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? new URL(script.src).origin : "";

  window.DTFrameLogin = function (frame, params, onSuccess, onError) {
    frame = frame || {};
    params = params || {};
    var box = document.getElementById(frame.id);
    if (!box) { if (onError) { onError("container #" + frame.id + " not found"); } return; }
    var query = new URLSearchParams({
      redirect_uri: decodeURIComponent(params.redirect_uri || ""),
      client_id: params.client_id || "",
      scope: params.scope || "openid",
      response_type: params.response_type || "code",
      state: params.state || "",
      prompt: params.prompt || "consent",
      embed: "1"
    });
    var iframe = document.createElement("iframe");
    iframe.src = base + "/oauth2/auth?" + query.toString();
    iframe.width = String(Math.max(280, frame.width || 300));
    iframe.height = String(Math.max(280, frame.height || 300));
    iframe.style.border = "none";
    iframe.title = "DingTalk";
    box.appendChild(iframe);
    window.addEventListener("message", function (event) {
      if (event.origin !== base || !event.data || event.data.type !== "dtframelogin") { return; }
      if (event.data.error) {
        if (onError) { onError(event.data.error); }
        return;
      }
      if (onSuccess) {
        onSuccess({
          redirectUrl: event.data.redirectUrl,
          authCode: event.data.authCode,
          state: event.data.state
        });
      }
    });
  };
})();
