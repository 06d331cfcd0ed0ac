/* Embedded DingTalk QR on /login (dingtalk-api.md §2.2, DTFrameLogin): after a scan, go to the
 * redirect URL DingTalk hands back (our callback, same origin), which checks the signed state. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".dt-qr[data-params]");
  Array.prototype.forEach.call(boxes, function (box) {
    var params = JSON.parse(box.getAttribute("data-params"));
    function fail() {
      var note = box.parentNode.querySelector(".dt-qr-error");
      if (note) { note.hidden = false; }
    }
    if (typeof window.DTFrameLogin !== "function") { fail(); return; }
    window.DTFrameLogin(
      { id: box.id, width: 300, height: 300 },
      {
        redirect_uri: encodeURIComponent(params.redirect_uri),
        client_id: params.client_id,
        scope: params.scope,
        response_type: params.response_type,
        state: params.state,
        prompt: params.prompt
      },
      function (result) {
        var target = new URL(result.redirectUrl, window.location.href);
        if (target.origin === window.location.origin) { window.location.href = target.href; }
      },
      fail
    );
  });
})();
