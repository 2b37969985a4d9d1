// "Copy" buttons: copies the value of the field a button's data-copy names to the clipboard and says
// so in #copy-status. Without the Clipboard API (an http page other than localhost), the field's text
// is selected for the person to copy themselves.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");
  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) {
        return;
      }
      function selectIt() {
        field.focus();
        field.select();
        say("Selected: press Ctrl+C (or Cmd+C) to copy it.");
      }
      if (!navigator.clipboard || !window.isSecureContext) {
        selectIt();
        return;
      }
      navigator.clipboard.writeText(field.value).then(function () {
        say("Copied to the clipboard.");
      }, selectIt);
    });
  });
})();
