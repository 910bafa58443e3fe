/* Tooltips for the bars of the attention-over-time chart (web/chart.py).
 *
 * The chart works without this file: each bar is a link with an aria-label and a
 * <title>, which the browser shows on a long hover. This shows the same text at once
 * above the bar under the mouse or the keyboard focus (a <title> never shows for the
 * keyboard), and drops the <title> so that two tooltips never stand together. The
 * listeners are on the document, so the results the live search swaps in keep them.
 */
(function () {
  "use strict";

  var tip = null;

  function barOf(event) {
    var target = event.target;
    return target && target.closest ? target.closest(".timeline-chart a.bar") : null;
  }

  function show(bar) {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "tooltip");
      document.body.appendChild(tip);
    }
    var title = bar.querySelector("title");
    if (title) title.remove();
    tip.textContent = bar.getAttribute("aria-label");
    tip.hidden = false;
    var box = bar.getBoundingClientRect();
    var page = document.documentElement.clientWidth;
    var left = box.left + box.width / 2 - tip.offsetWidth / 2;
    left = Math.max(4, Math.min(left, page - tip.offsetWidth - 4));
    tip.style.left = left + window.scrollX + "px";
    tip.style.top = box.top + window.scrollY - tip.offsetHeight - 6 + "px";
  }

  function hide() {
    if (tip) tip.hidden = true;
  }

  function follow(event) {
    var bar = barOf(event);
    if (bar) show(bar);
    else hide();
  }

  document.addEventListener("mouseover", follow);
  document.addEventListener("focusin", follow);
  document.addEventListener("focusout", hide);
})();
