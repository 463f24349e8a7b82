// Facet console: errors shown in the alert region, and the review queue's keyboard shortcuts.
// Plain script, no framework: htmx does the requests and swaps; this file only reacts to them.
(function () {
  "use strict";

  function flash(message, kind) {
    var region = document.getElementById("flash");
    if (!region) return;
    region.textContent = message;
    region.className = kind || "";
  }

  // A refused request (4xx/5xx JSON error, as the API answers) is shown, not swapped in.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = "The request failed (" + xhr.status + ").";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (ignored) {
      // Not JSON: keep the status line.
    }
    flash(message, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The server did not answer. Check the connection and try again.", "error");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && event.detail.requestConfig && event.detail.requestConfig.verb !== "get") flash("", "");
  });

  // After a decision, focus moves to the next product still waiting.
  document.addEventListener("htmx:afterSwap", function (event) {
    var card = event.detail.target && document.getElementById(event.detail.target.id);
    if (card && card.getAttribute("data-decided") === "true") {
      var next = nextCard(card, 1) || nextCard(card, -1);
      (next || card).focus();
    }
  });

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll(".queue .card:not([data-decided])"));
  }
  function currentCard() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(".queue .card") : null;
  }
  function nextCard(from, step) {
    var all = Array.prototype.slice.call(document.querySelectorAll(".queue .card"));
    for (var i = all.indexOf(from) + step; i >= 0 && i < all.length; i += step) {
      if (!all[i].hasAttribute("data-decided")) return all[i];
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT");
    if (typing) {
      if (event.key === "Escape" && target.closest(".queue .card")) {
        target.closest(".queue .card").focus();
        event.preventDefault();
      }
      return;
    }
    if (!document.querySelector(".queue")) return;
    var card = currentCard();
    if (event.key === "j" || event.key === "k") {
      var next = card ? nextCard(card, event.key === "j" ? 1 : -1) : cards()[0];
      if (next) {
        next.focus();
        next.scrollIntoView({ block: "nearest" });
      }
      event.preventDefault();
      return;
    }
    if (!card) return;
    if (event.key === "e") {
      var text = card.querySelector("textarea");
      if (text) text.focus();
      event.preventDefault();
    } else if (event.key === "a" || event.key === "r") {
      var button = card.querySelector('button[data-key="' + event.key + '"]');
      if (button) button.click();
      event.preventDefault();
    }
  });
})();
