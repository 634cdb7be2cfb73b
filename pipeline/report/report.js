/* cpas-compare report: searchable, sortable table of objectives/actions. Vanilla JS, offline.
 *
 * Data: the JSON block #report-data = {docs: [[doc_id, label, anchor]], themes: [[id, label]],
 * kinds: [[kind, label]], rows: [[doc index, unit_id, kind, axis unit_id, [theme indexes]]]}.
 * Labels and texts are read from the trees of the page (<li id="u-<doc index + 1>-<unit_id>">
 * with <span class="label"> and <span class="text">), so that no text is stored twice.
 *
 * Filters can be set from the URL: #objectifs?q=logement&theme=logement&commune=<doc_id>&kind=all
 * &sort=text&dir=desc. After each render the table carries data-shown / data-total, and once the
 * page is ready <body data-report-ready="1"> (hooks for headless checks).
 */
(function () {
  "use strict";
  var PAGE = 500;
  var dataEl = document.getElementById("report-data");
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  var table = document.getElementById("units-table");
  var tbody = table.querySelector("tbody");
  var inputs = {
    q: document.getElementById("f-q"),
    theme: document.getElementById("f-theme"),
    commune: document.getElementById("f-commune"),
    kind: document.getElementById("f-kind")
  };
  var countEl = document.getElementById("f-count");
  var moreBtn = document.getElementById("f-more");
  var DEFAULTS = { q: "", theme: "", commune: "", kind: "objective", sort: "", dir: "asc" };
  var state = Object.assign({}, DEFAULTS);
  var limit = PAGE;

  var themeById = {};
  data.themes.forEach(function (t) { themeById[t[0]] = t; });
  var kindLabel = {};
  var kindOrder = {};
  data.kinds.forEach(function (k, i) { kindLabel[k[0]] = k[1]; kindOrder[k[0]] = i; });

  /* Lower case without accents, one output character per input code unit (so that match
     positions in the folded text are positions in the original). */
  function fold(text) {
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      var f = c.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
      out += f.length === 1 ? f : (c.toLowerCase().length === 1 ? c.toLowerCase() : c);
    }
    return out;
  }

  /* label and text of one unit of the trees: {label, text} ("" when absent). */
  function unitText(anchor) {
    var li = document.getElementById(anchor);
    var out = { label: "", text: "" };
    if (!li) { return out; }
    for (var c = li.firstElementChild; c; c = c.nextElementSibling) {
      if (c.classList.contains("label")) { out.label = c.textContent; }
      else if (c.classList.contains("text")) { out.text = c.textContent; }
    }
    return out;
  }
  var axisCache = {};
  function axisText(docIndex, uid) {
    if (!uid) { return ""; }
    var key = "u-" + (docIndex + 1) + "-" + uid;
    if (!(key in axisCache)) {
      var t = unitText(key);
      axisCache[key] = (t.label ? t.label + " " : "") + t.text;
    }
    return axisCache[key];
  }

  var rows = data.rows.map(function (r, i) {
    var doc = data.docs[r[0]];
    var anchor = "u-" + (r[0] + 1) + "-" + r[1];
    var t = unitText(anchor);
    var axis = axisText(r[0], r[3]);
    var themes = r[4].map(function (k) { return data.themes[k][0]; });
    return {
      i: i, doc: doc[0], commune: doc[1], anchor: anchor,
      kind: r[2], label: t.label, text: t.text, axis: axis, themes: themes,
      hay: fold([doc[1], t.label, t.text, axis].join(" \u0001 ")),
      themeKey: themes.length ? themeById[themes[0]][1] : "\uffff"
    };
  });

  function option(select, value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    select.appendChild(o);
  }
  option(inputs.theme, "", "Tous les thèmes");
  data.themes.forEach(function (t) { option(inputs.theme, t[0], t[1]); });
  option(inputs.theme, "__none", "(sans thème)");
  option(inputs.commune, "", "Toutes les communes");
  data.docs.forEach(function (d) { option(inputs.commune, d[0], d[1]); });
  option(inputs.kind, "all", "Tous les types");
  data.kinds.forEach(function (k) {
    var n = rows.filter(function (r) { return r.kind === k[0]; }).length;
    if (n) { option(inputs.kind, k[0], k[1] + " (" + n + ")"); }
  });
  if (!rows.some(function (r) { return r.kind === "objective"; })) { DEFAULTS.kind = "all"; state.kind = "all"; }

  function words(q) { return fold(q).split(/\s+/).filter(Boolean); }

  function matches(r, ws) {
    if (state.kind !== "all" && state.kind && r.kind !== state.kind) { return false; }
    if (state.commune && r.doc !== state.commune) { return false; }
    if (state.theme === "__none") { if (r.themes.length) { return false; } }
    else if (state.theme && r.themes.indexOf(state.theme) < 0) { return false; }
    for (var i = 0; i < ws.length; i++) { if (r.hay.indexOf(ws[i]) < 0) { return false; } }
    return true;
  }

  var collator = new Intl.Collator("fr", { numeric: true, sensitivity: "base" });
  function sortKey(r) {
    switch (state.sort) {
      case "commune": return r.commune;
      case "kind": return String(kindOrder[r.kind]).padStart(3, "0");
      case "label": return r.label;
      case "text": return r.text;
      case "axis": return r.axis;
      case "themes": return r.themeKey;
      default: return "";
    }
  }

  /* Append text to el, wrapping the (accent-insensitive) matches of ws in <mark>. */
  function highlighted(el, text, ws) {
    if (!ws.length || !text) { el.textContent = text; return; }
    var f = fold(text);
    var marks = [];
    ws.forEach(function (w) {
      var p = f.indexOf(w);
      while (p >= 0) { marks.push([p, p + w.length]); p = f.indexOf(w, p + w.length); }
    });
    marks.sort(function (a, b) { return a[0] - b[0]; });
    var pos = 0;
    marks.forEach(function (m) {
      if (m[0] < pos) { return; }
      el.appendChild(document.createTextNode(text.slice(pos, m[0])));
      var mk = document.createElement("mark");
      mk.textContent = text.slice(m[0], m[1]);
      el.appendChild(mk);
      pos = m[1];
    });
    el.appendChild(document.createTextNode(text.slice(pos)));
  }

  function chip(id) {
    var t = themeById[id] || [id, id];
    var s = document.createElement("span");
    s.className = "chip";
    s.dataset.theme = t[0];   /* colours: .chip[data-theme=…] rules of the page */
    s.textContent = t[1];
    return s;
  }

  function cell(tr, cls, text, ws) {
    var td = document.createElement("td");
    td.className = cls;
    if (ws) { highlighted(td, text, ws); } else { td.textContent = text; }
    tr.appendChild(td);
    return td;
  }

  function render() {
    var ws = words(state.q);
    var shown = rows.filter(function (r) { return matches(r, ws); });
    if (state.sort) {
      var dir = state.dir === "desc" ? -1 : 1;
      shown.sort(function (a, b) {
        return dir * collator.compare(sortKey(a), sortKey(b)) || a.i - b.i;
      });
    }
    var frag = document.createDocumentFragment();
    shown.slice(0, limit).forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.doc = r.doc;
      tr.dataset.kind = r.kind;
      var c = cell(tr, "t-commune", "", null);
      var a = document.createElement("a");
      a.href = "#" + r.anchor;
      a.title = "voir dans l'arborescence";
      highlighted(a, r.commune, ws);
      c.appendChild(a);
      cell(tr, "t-kind", kindLabel[r.kind] || r.kind, null);
      cell(tr, "t-label", r.label, ws);
      cell(tr, "t-text", r.text, ws);
      cell(tr, "t-axis", r.axis, ws);
      var tc = cell(tr, "t-themes", "", null);
      r.themes.forEach(function (t) { tc.appendChild(chip(t)); });
      frag.appendChild(tr);
    });
    tbody.textContent = "";
    if (!shown.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "muted", "Aucune unité ne correspond à ces filtres.", null);
      td.colSpan = 6;
      frag.appendChild(tr);
    }
    tbody.appendChild(frag);
    var n = Math.min(limit, shown.length);
    table.dataset.shown = String(n);
    table.dataset.matched = String(shown.length);
    table.dataset.total = String(rows.length);
    countEl.textContent = shown.length + " unité" + (shown.length > 1 ? "s" : "") + " sur " +
      rows.length + (n < shown.length ? " (" + n + " affichées)" : "");
    moreBtn.hidden = n >= shown.length;
    table.querySelectorAll("th[data-key]").forEach(function (th) {
      var s = th.dataset.key === state.sort ? (state.dir === "desc" ? "descending" : "ascending") : "none";
      th.setAttribute("aria-sort", s);
    });
  }

  function toHash() {
    var p = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (k) {
      if (state[k] !== DEFAULTS[k]) { p.set(k, state[k]); }
    });
    var s = p.toString();
    if (history.replaceState) {
      history.replaceState(null, "", "#objectifs" + (s ? "?" + s : ""));
    }
  }

  function fromHash() {
    var m = /^#objectifs\?(.*)$/.exec(location.hash || "");
    if (!m) { return location.hash || ""; }
    var p = new URLSearchParams(m[1]);
    Object.keys(DEFAULTS).forEach(function (k) {
      if (p.has(k)) { state[k] = p.get(k); }
    });
    return "#objectifs";
  }

  function syncInputs() {
    inputs.q.value = state.q;
    ["theme", "commune", "kind"].forEach(function (k) {
      var sel = inputs[k];
      var ok = Array.prototype.some.call(sel.options, function (o) { return o.value === state[k]; });
      if (!ok) { state[k] = DEFAULTS[k]; }
      sel.value = state[k];
    });
  }

  function onChange() {
    state.q = inputs.q.value;
    state.theme = inputs.theme.value;
    state.commune = inputs.commune.value;
    state.kind = inputs.kind.value;
    limit = PAGE;
    render();
    toHash();
  }

  var timer = null;
  inputs.q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(onChange, 120);
  });
  ["theme", "commune", "kind"].forEach(function (k) { inputs[k].addEventListener("change", onChange); });
  document.getElementById("f-reset").addEventListener("click", function () {
    state = Object.assign({}, DEFAULTS);
    syncInputs();
    limit = PAGE;
    render();
    toHash();
  });
  moreBtn.addEventListener("click", function () { limit += PAGE; render(); });
  table.querySelectorAll("th[data-key]").forEach(function (th) {
    th.tabIndex = 0;
    function sortBy() {
      if (state.sort === th.dataset.key) { state.dir = state.dir === "asc" ? "desc" : "asc"; }
      else { state.sort = th.dataset.key; state.dir = "asc"; }
      render();
      toHash();
    }
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(); }
    });
  });

  /* Jumping to a unit of a collapsed tree opens it first. */
  function reveal(hash) {
    if (!hash || hash.length < 2 || hash.indexOf("#objectifs") === 0) { return; }
    var el = document.getElementById(hash.slice(1));
    if (!el) { return; }
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    el.scrollIntoView({ block: "center" });
  }
  window.addEventListener("hashchange", function () {
    if ((location.hash || "").indexOf("#objectifs?") === 0) { fromHash(); syncInputs(); limit = PAGE; render(); }
    else { reveal(location.hash); }
  });

  var initial = fromHash();
  syncInputs();
  render();
  if (initial === "#objectifs") { document.getElementById("objectifs").scrollIntoView(); }
  else { reveal(location.hash); }
  document.body.dataset.reportReady = "1";
})();
