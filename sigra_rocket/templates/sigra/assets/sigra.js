// Sigra's pages work without script; this file only adds conveniences to them. It is
// served from Sigra's own origin, so the pages' policy needs no 'unsafe-inline'.
(function () {
  "use strict";

  // The API keys page: copy the key shown once.
  var copy = document.getElementById("api-key-copy");
  var value = document.getElementById("api-key-value");
  var status = document.getElementById("api-key-copy-status");
  if (!copy || !value) {
    return;
  }
  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }
  function select() {
    var range = document.createRange();
    range.selectNodeContents(value);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  copy.addEventListener("click", function () {
    var key = value.textContent.trim();
    if (!navigator.clipboard) {
      select();
      say("Selected: press Ctrl+C (or ⌘C) to copy.");
      return;
    }
    navigator.clipboard.writeText(key).then(
      function () {
        say("Copied.");
      },
      function () {
        select();
        say("Selected: press Ctrl+C (or ⌘C) to copy.");
      }
    );
  });
})();
