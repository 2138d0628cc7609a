// The desk's keyboard: comboboxes (WAI-ARIA pattern: focus stays in the field, the highlighted option is
// aria-activedescendant, Enter takes it, and Tab in a field marked data-tab="take"), focus where the server
// says after each swap, Ctrl+Enter saves.
// Every form works without this file; it only saves keystrokes.
(function () {
  "use strict";

  function options(input) {
    var list = document.getElementById(input.dataset.combobox);
    return list ? Array.prototype.slice.call(list.querySelectorAll('[role="option"]')) : [];
  }

  function highlight(input, index) {
    var all = options(input);
    all.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function current(input) {
    var all = options(input);
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("aria-selected") === "true") { return i; }
    }
    return -1;
  }

  function close(input) {
    var list = document.getElementById(input.dataset.combobox);
    if (list) { list.innerHTML = ""; }
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  // Take the highlighted option only if the list answers what is typed now: a scanner's Enter can come
  // before the lookup, and the server resolves the typed code or GTIN itself.
  function take(input, all) {
    var index = current(input);
    var list = document.getElementById(input.dataset.combobox);
    if (index >= 0 && list && list.dataset.query === input.value) {
      input.value = all[index].dataset.value;
    }
  }

  // A click (not requestSubmit) so that htmx, which remembers the last button clicked, sends its value.
  function submit(form, action) {
    var button = form.querySelector('button[name="action"][value="' + action + '"]');
    if (button && !button.disabled) { button.click(); } else { form.requestSubmit(); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var form = target.form || (target.closest && target.closest("form"));
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var save = document.querySelector('[data-shortcut="ctrl+enter"]');
      if (save && save.form) {
        event.preventDefault();
        save.click();
      }
      return;
    }
    if (!target.dataset || !target.dataset.combobox) { return; }
    var all = options(target);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) { return; }
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight(target, (current(target) + step + all.length) % all.length);
    } else if (event.key === "Escape") {
      close(target);
    } else if (event.key === "Tab" && !event.shiftKey && target.dataset.tab === "take") {
      // Tab takes the highlighted option too, and the cursor goes on to the quantity as usual: a title
      // found by a word, then its quantity, then Enter adds the line.
      take(target, all);
      close(target);
    } else if (event.key === "Enter" && form) {
      take(target, all);
      event.preventDefault();
      close(target);
      submit(form, "refresh");
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('[role="option"]');
    if (!option) { return; }
    var list = option.closest('[role="listbox"]');
    var input = list && document.querySelector('[data-combobox="' + list.id + '"]');
    if (!input || !input.form) { return; }
    input.value = option.dataset.value;
    close(input);
    submit(input.form, "refresh");
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var input = event.detail.elt;
    if (input.dataset && input.dataset.combobox) {
      var list = document.getElementById(input.dataset.combobox);
      if (list) { list.dataset.pending = input.value; }
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.getAttribute && target.getAttribute("role") === "listbox") {
      var input = document.querySelector('[data-combobox="' + target.id + '"]');
      target.dataset.query = target.dataset.pending || "";
      if (input) {
        if (input.value !== target.dataset.query) { target.innerHTML = ""; }
        var has = target.querySelector('[role="option"]') !== null;
        input.setAttribute("aria-expanded", has ? "true" : "false");
        highlight(input, has ? 0 : -1);
      }
    }
  });

  function focusRequested(root) {
    var form = root.querySelector ? root.querySelector("[data-focus]") : null;
    if (root.dataset && root.dataset.focus) { form = root; }
    if (!form) { return; }
    var field = document.getElementById(form.dataset.focus);
    var invalid = form.querySelector('[aria-invalid="true"]');
    var chosen = invalid || field;
    if (chosen && !chosen.disabled) { chosen.focus(); }
  }

  // After a form (or the panel holding it) is swapped, the cursor goes where its new copy says.
  document.addEventListener("htmx:afterSettle", function (event) {
    [event.detail.elt, event.detail.target].forEach(function (swapped) {
      var live = swapped && swapped.id ? document.getElementById(swapped.id) : null;
      if (live && live.getAttribute("role") !== "listbox") { focusRequested(live); }
    });
  });

  document.addEventListener("DOMContentLoaded", function () { focusRequested(document); });
})();
