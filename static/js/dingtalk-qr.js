/* Embedded DingTalk QR on /login (dingtalk-api.md §2.2, DTFrameLogin): after a scan, go to the
 * redirect URL DingTalk hands back (our callback, same origin), which checks the signed state.
 * The frame is a picture to scan: keyboard focus skips it (tabindex -1). */
(function () {
  "use strict";
  var SIZE = 300; /* DTFrameLogin's default; min 280. The card leaves room for it at 390 px. */
  var boxes = document.querySelectorAll(".dt-qr[data-params]");
  Array.prototype.forEach.call(boxes, function (box) {
    var params = JSON.parse(box.getAttribute("data-params"));
    function fail() {
      var note = box.parentNode.querySelector(".dt-qr-error");
      if (note) { note.hidden = false; }
      box.hidden = true;
    }
    function tame(frame) {
      frame.setAttribute("tabindex", "-1");
      frame.setAttribute("title", box.getAttribute("data-frame-title") || "DingTalk");
      frame.setAttribute("scrolling", "no");
    }
    if (typeof window.DTFrameLogin !== "function") { fail(); return; }
    new MutationObserver(function () {
      var frame = box.querySelector("iframe");
      if (frame) { tame(frame); }
    }).observe(box, { childList: true, subtree: true });
    window.DTFrameLogin(
      { id: box.id, width: SIZE, height: SIZE },
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
    var frame = box.querySelector("iframe");
    if (frame) { tame(frame); }
  });
})();
