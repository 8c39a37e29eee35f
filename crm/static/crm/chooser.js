/*
 * Choosers that scale: a filter box on every <select data-chooser>.
 *
 * The page works without this script (plain list boxes). With it, typing in
 * the box above a list hides the options that do not match (accents and case
 * ignored), and a multiple list shows what is chosen above it, each with a
 * button to remove it. No network, no framework.
 */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function enhance(select) {
    // Once per list, even if the script is loaded twice.
    if (select.dataset.chooserReady) return;
    select.dataset.chooserReady = "1";
    var words = select.dataset;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "chooser-filter";
    box.setAttribute("autocomplete", "off");
    var label = select.labels && select.labels[0] ? select.labels[0].textContent.trim() : "";
    box.placeholder = words.filterPlaceholder || "";
    box.setAttribute("aria-label", (words.filterLabel || "") + " " + label);
    box.setAttribute("aria-controls", select.id);
    var chosen = null;
    if (select.multiple) {
      chosen = document.createElement("ul");
      chosen.className = "chooser-chosen";
      chosen.setAttribute("aria-live", "polite");
      select.parentNode.insertBefore(chosen, select);
    }
    select.parentNode.insertBefore(box, select);

    function filter() {
      var wanted = fold(box.value.trim());
      Array.prototype.forEach.call(select.options, function (option) {
        var match = !wanted || fold(option.text).indexOf(wanted) !== -1;
        option.hidden = !match && !option.selected;
      });
    }

    function showChosen() {
      if (!chosen) return;
      chosen.textContent = "";
      Array.prototype.forEach.call(select.selectedOptions, function (option) {
        var item = document.createElement("li");
        item.textContent = option.text + " ";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", (words.removeLabel || "×") + " " + option.text);
        remove.addEventListener("click", function () {
          option.selected = false;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        });
        item.appendChild(remove);
        chosen.appendChild(item);
      });
    }

    box.addEventListener("input", filter);
    box.addEventListener("keydown", function (event) {
      // Enter picks the first option that matches instead of sending the form.
      if (event.key !== "Enter") return;
      event.preventDefault();
      var first = Array.prototype.find.call(select.options, function (option) {
        return !option.hidden && !option.selected && option.value;
      });
      if (first) {
        first.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        box.value = "";
        filter();
      }
    });
    select.addEventListener("change", function () {
      showChosen();
      filter();
    });
    showChosen();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-chooser]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
