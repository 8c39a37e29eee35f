/*
 * Choosers over the whole directory: a combobox on every <div class="choose">.
 *
 * The form works without this script: the <select> lists what is chosen, and
 * a name typed in the box is looked up when the form is sent. With it, the box
 * asks /choose/<kind>/?q=… as one types and shows the matches in a listbox
 * (ARIA combobox: arrows move, Enter chooses, Escape closes); what is chosen
 * is shown above it, each with a button to remove it, and kept in the hidden
 * <select>, which is what the form sends. No framework, no inline script.
 */
(function () {
  "use strict";

  var DELAY = 150;
  var counter = 0;

  function enhance(root) {
    if (root.dataset.chooseReady) return;
    root.dataset.chooseReady = "1";
    var words = root.dataset;
    var box = root.querySelector(".choose-box");
    var select = root.querySelector("select");
    if (!box || !select) return;
    var multiple = select.multiple;
    var id = "choose-" + (++counter);

    // The field's label now names the box, which is what one types in.
    var labels = Array.prototype.slice.call(select.labels || []);
    labels.forEach(function (label) {
      label.htmlFor = box.id;
    });
    if (labels.length) box.removeAttribute("aria-label");
    // The field's error and help describe the box; the server checks "required"
    // (a hidden required list would stop the form with nothing to show).
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (select.hasAttribute(name)) box.setAttribute(name, select.getAttribute(name));
    });
    select.required = false;
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    var help = root.querySelector(".choose-help");
    if (help) help.hidden = true;

    var chosen = document.createElement("ul");
    chosen.className = "choose-chosen";
    root.insertBefore(chosen, box);

    var listbox = document.createElement("ul");
    listbox.id = id + "-list";
    listbox.className = "choose-list";
    listbox.setAttribute("role", "listbox");
    if (box.labels && box.labels[0]) listbox.setAttribute("aria-label", box.labels[0].textContent.trim());
    listbox.hidden = true;
    box.insertAdjacentElement("afterend", listbox);

    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    root.appendChild(status);

    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", listbox.id);

    var results = [];
    var active = -1;
    var timer = null;
    var pending = null;
    var asked = 0;

    function showChosen() {
      chosen.textContent = "";
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.selected || !option.value) return;
        var item = document.createElement("li");
        var name = document.createElement("span");
        name.textContent = option.text;
        item.appendChild(name);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "choose-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", (words.remove || "×") + " " + option.text);
        remove.addEventListener("click", function () {
          option.selected = false;
          option.remove();
          showChosen();
          box.focus();
          select.dispatchEvent(new Event("change", { bubbles: true }));
        });
        item.appendChild(remove);
        chosen.appendChild(item);
      });
    }

    function close() {
      listbox.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = listbox.children;
      if (!items.length) return;
      active = (index + items.length) % items.length;
      Array.prototype.forEach.call(items, function (item, position) {
        item.setAttribute("aria-selected", position === active ? "true" : "false");
      });
      box.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(index) {
      var result = results[index];
      if (!result) return;
      var value = String(result.id);
      if (!multiple) {
        Array.prototype.slice.call(select.options).forEach(function (option) {
          if (option.value) option.remove();
        });
      }
      var existing = Array.prototype.find.call(select.options, function (option) {
        return option.value === value;
      });
      if (existing) {
        existing.selected = true;
      } else {
        select.add(new Option(result.label, value, true, true));
      }
      box.value = "";
      results = [];
      close();
      showChosen();
      status.textContent = "";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(found) {
      results = found;
      listbox.textContent = "";
      found.forEach(function (result, index) {
        var item = document.createElement("li");
        item.id = id + "-option-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = result.label;
        if (result.hint) {
          var hint = document.createElement("span");
          hint.className = "choose-hint";
          hint.textContent = " · " + result.hint;
          item.appendChild(hint);
        }
        // Pressing would blur the box first and close the list.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
        });
        item.addEventListener("click", function () {
          pick(index);
          box.focus();
        });
        listbox.appendChild(item);
      });
      if (found.length) {
        listbox.hidden = false;
        box.setAttribute("aria-expanded", "true");
        active = -1;
        status.textContent = (words.results || "%(count)s").replace("%(count)s", found.length);
      } else {
        close();
        status.textContent = words.noMatch || "";
      }
    }

    function ask() {
      var query = box.value.trim();
      if (pending) pending.abort();
      if (!query) {
        results = [];
        close();
        status.textContent = "";
        return;
      }
      var number = ++asked;
      pending = typeof AbortController === "function" ? new AbortController() : null;
      status.textContent = words.searching || "";
      fetch(words.chooseUrl + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending ? pending.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          // An answer to an older query is of no use.
          if (number === asked) show(data.results || []);
        })
        .catch(function () {
          if (number === asked) close();
        });
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    box.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && results.length) show(results);
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (!open && results.length) show(results);
        highlight(active < 0 ? -1 : active - 1);
      } else if (event.key === "Enter" && open) {
        // Choosing, not sending the form.
        event.preventDefault();
        pick(active < 0 ? 0 : active);
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (box.value) {
          event.preventDefault();
          box.value = "";
        }
      } else if (event.key === "Tab") {
        close();
      }
    });
    box.addEventListener("blur", function () {
      close();
    });
    select.addEventListener("change", showChosen);
    showChosen();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".choose[data-choose-url]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
