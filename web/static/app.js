/* Live search for the news search page.
 *
 * The page works without this file: the server renders every state from the URL.
 * The script only fetches the same server-rendered results fragment (/results?...)
 * as you type or click, swaps it in, and keeps the URL and the history in step:
 *   - typing updates the results after a 250 ms pause; one typing session is one
 *     history entry, and a newer request always wins over an older one; while the
 *     last word is unfinished (no space after it) the request says typing=1, and the
 *     server takes that word as a prefix rather than correcting it;
 *   - suggestions for the last word drop down under the box (ArrowDown / ArrowUp,
 *     Enter to choose, Escape to close);
 *   - facet, page and correction links load in place and push a history entry, and
 *     the back button (popstate) restores the earlier searches;
 *   - the filters (a <details>) are opened on a wide screen, where they stand beside the
 *     hits, and left closed behind «Фильтры» on a phone.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;

  // Without the script the style shows the filters on a wide screen all the same; open,
  // they are open for assistive technology and the browser's find too.
  var wide = window.matchMedia("(min-width: 761px)");

  function openFilters() {
    var filters = document.querySelector(".filters");
    if (filters) filters.open = wide.matches;
  }

  openFilters();
  if (wide.addEventListener) wide.addEventListener("change", openFilters);

  // On an article opened from the results, "back to search" returns to the exact
  // results page (filters, page, scroll) rather than to a fresh search for the words.
  var back = document.querySelector(".back-link");
  if (back && document.referrer) {
    var from = new URL(document.referrer);
    if (from.origin === location.origin && from.pathname === "/" && history.length > 1) {
      back.addEventListener("click", function (event) {
        event.preventDefault();
        history.back();
      });
    }
  }

  var form = document.getElementById("search-form");
  var results = document.getElementById("results");
  if (!form || !results || !window.fetch || !window.history.pushState) {
    return;
  }
  var input = document.getElementById("q");
  var list = document.getElementById("suggestions");
  var fields = {
    sort: document.getElementById("sort"),
    from: document.getElementById("from"),
    to: document.getElementById("to"),
  };

  var sequence = 0; // number of the newest results request; older answers are dropped
  var shown = location.search; // the search whose results the page shows
  var controller = null;
  var timer = null;

  // -- state <-> URL ----------------------------------------------------------------

  function formSearch() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value !== "string" || !value.trim()) return;
      if (key === "sort" && value === "relevance") return;
      params.append(key, value);
    });
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function syncForm(body, keepQuery) {
    if (!body) return;
    if (!keepQuery) input.value = body.dataset.q || "";
    fields.sort.value = body.dataset.sort || "relevance";
    fields.from.value = body.dataset.from || "";
    fields.to.value = body.dataset.to || "";
    if (body.dataset.title) document.title = body.dataset.title;
  }

  // how: "typed" (one entry per typing session), "commit" (ends a typing session),
  // "push" (a new entry), "none" (popstate: the URL is already right).
  function record(search, how) {
    var url = "/" + search;
    var state = history.state || {};
    if (how === "none") return;
    if (how === "typed") {
      if (state.typed) history.replaceState({ typed: true }, "", url);
      else history.pushState({ typed: true }, "", url);
    } else if (how === "commit" && (state.typed || search === location.search)) {
      history.replaceState({ typed: false }, "", url);
    } else {
      history.pushState({ typed: false }, "", url);
    }
  }

  // The fragment's URL: the page's own, and typing=1 while a word is being typed.
  function fragmentUrl(search, typing) {
    if (!typing) return "/results" + search;
    return "/results" + (search ? search + "&" : "?") + "typing=1";
  }

  function load(search, how, scroll) {
    sequence += 1;
    var mine = sequence;
    if (controller) controller.abort();
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    var typing = how === "typed" && input.value.trim() !== "" && !/\s$/.test(input.value);
    fetch(fragmentUrl(search, typing), { signal: controller.signal, credentials: "same-origin" })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        if (mine !== sequence) return;
        shown = search;
        results.innerHTML = html;
        results.removeAttribute("aria-busy");
        openFilters();
        record(search, how);
        syncForm(document.getElementById("results-body"), how === "typed");
        if (scroll && results.getBoundingClientRect().top < 0) {
          window.scrollTo(0, 0);
        }
      })
      .catch(function (error) {
        if (error.name === "AbortError" || mine !== sequence) return;
        window.location.href = "/" + search; // let the server render it
      });
  }

  // -- typing and the form ----------------------------------------------------------

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var search = formSearch();
      if (search !== location.search) load(search, "typed");
    }, DEBOUNCE_MS);
    suggest();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    hideSuggestions();
    load(formSearch(), "commit");
  });

  Object.keys(fields).forEach(function (name) {
    fields[name].addEventListener("change", function () {
      window.clearTimeout(timer);
      load(formSearch(), "push");
    });
  });

  results.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-nav]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var url = new URL(link.href);
    if (url.origin !== location.origin || url.pathname !== "/") return;
    event.preventDefault();
    window.clearTimeout(timer);
    hideSuggestions();
    load(url.search, "push", true);
  });

  window.addEventListener("popstate", function () {
    // Following an in-page link (the skip link's #results) is a popstate too: the
    // search did not change, and reloading the results would drop the focus it moved.
    if (location.search === shown) return;
    window.clearTimeout(timer);
    hideSuggestions();
    load(location.search, "none");
  });

  history.replaceState({ typed: false }, "");

  // -- suggestions ------------------------------------------------------------------

  var suggestSequence = 0;
  var suggestController = null;
  var items = [];
  var active = -1;

  function suggest() {
    var text = input.value;
    if (!text.trim() || /\s$/.test(text)) {
      hideSuggestions();
      return;
    }
    suggestSequence += 1;
    var mine = suggestSequence;
    if (suggestController) suggestController.abort();
    suggestController = new AbortController();
    fetch("/api/suggest?" + new URLSearchParams({ q: text }), { signal: suggestController.signal })
      .then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      })
      .then(function (data) {
        if (mine === suggestSequence && input.value === text) {
          showSuggestions(text, data.suggestions || []);
        }
      })
      .catch(function () {});
  }

  function showSuggestions(typed, values) {
    items = values;
    active = -1;
    list.textContent = "";
    if (!values.length || document.activeElement !== input) {
      hideSuggestions();
      return;
    }
    values.forEach(function (value, index) {
      var option = document.createElement("li");
      option.id = "suggestion-" + index;
      option.className = "suggestion";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      var shared = value.lastIndexOf(typed, 0) === 0 ? typed.length : 0;
      option.appendChild(document.createTextNode(value.slice(0, shared)));
      var rest = document.createElement("b");
      rest.textContent = value.slice(shared);
      option.appendChild(rest);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the box
        choose(index);
      });
      list.appendChild(option);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function hideSuggestions() {
    suggestSequence += 1; // an answer still on its way must not reopen the list
    items = [];
    active = -1;
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(list.children, function (option, i) {
      option.classList.toggle("active", i === index);
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) input.setAttribute("aria-activedescendant", "suggestion-" + index);
    else input.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    input.value = items[index];
    hideSuggestions();
    window.clearTimeout(timer);
    load(formSearch(), "commit");
  }

  input.addEventListener("keydown", function (event) {
    if (list.hidden || !items.length) return;
    var last = items.length - 1;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight(active >= last ? -1 : active + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active <= -1 ? last : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      hideSuggestions();
    }
  });

  input.addEventListener("blur", hideSuggestions);
})();
