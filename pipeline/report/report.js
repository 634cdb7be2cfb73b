/* cpas-compare report: searchable, sortable table of objectives/actions. Vanilla JS, offline.
 *
 * Data: the JSON block #report-data = {docs: [[doc_id, label, anchor]], themes: [[id, label]],
 * kinds: [[kind, label]], rows: [[doc index, unit_id, kind, axis unit_id, [theme indexes]]]}.
 * Labels and texts are read from the trees of the page (<li id="u-<doc index + 1>-<unit_id>">
 * with <span class="label"> and <span class="text">), so that no text is stored twice.
 *
 * Filters can be set from the URL: #objectifs?q=logement&theme=logement&commune=<doc_id>&kind=all
 * &sort=text&dir=desc, and by any metadata column of data.meta ([[column, label, [value per
 * doc]]]): #objectifs?province=Liège. data.shares = [[doc index, theme index, share]] feeds the
 * side-by-side comparison (#cote-a-cote, selects cmp-a / cmp-b). After each render the table carries data-shown / data-total, and once the
 * page is ready <body data-report-ready="1"> (hooks for headless checks).
 */
(function () {
  "use strict";
  // a printed report shows what a closed <details> hides (the unanchored plan actions, the
  // non-content lists, the trees); the ones the reader had closed close again after printing
  var openedForPrint = [];
  window.addEventListener("beforeprint", function () {
    openedForPrint = Array.prototype.filter.call(
      document.querySelectorAll("details:not([open])"), function (d) { return !d.closest(".toc"); });
    openedForPrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    openedForPrint.forEach(function (d) { d.open = false; });
    openedForPrint = [];
  });

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
  var META = (data.meta || []).map(function (m) {
    var key = m[0] in DEFAULTS ? "m_" + m[0] : m[0];
    DEFAULTS[key] = "";
    return { key: key, label: m[1], values: m[2] };
  });
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

  var docMeta = data.docs.map(function (d, i) {
    var o = {};
    META.forEach(function (m) { o[m.key] = m.values[i] || ""; });
    return o;
  });
  var metaBox = document.getElementById("f-meta");
  META.forEach(function (m) {
    var label = document.createElement("label");
    label.textContent = m.label + " ";
    var sel = document.createElement("select");
    sel.dataset.meta = m.key;
    var seen = {};
    var vals = m.values.filter(function (v) { if (!v || seen[v]) { return false; } seen[v] = 1; return true; });
    vals.sort(function (a, b) { return a.localeCompare(b, "fr"); });
    var o = document.createElement("option"); o.value = ""; o.textContent = "Toutes"; sel.appendChild(o);
    vals.forEach(function (v) { var x = document.createElement("option"); x.value = v; x.textContent = v; sel.appendChild(x); });
    label.appendChild(sel);
    if (metaBox) { metaBox.appendChild(label); }
    inputs[m.key] = sel;
  });
  var SELECTS = ["theme", "commune", "kind"].concat(META.map(function (m) { return m.key; }));

  var rows = data.rows.map(function (r, i) {
    var doc = data.docs[r[0]];
    var anchor = "u-" + (r[0] + 1) + "-" + r[1];
    var t = unitText(anchor);
    var axis = axisText(r[0], r[3]);
    var themes = r[4].map(function (k) { return data.themes[k][0]; });
    return {
      i: i, doc: doc[0], commune: doc[1], anchor: anchor, meta: docMeta[r[0]],
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
    for (var k = 0; k < META.length; k++) {
      var key = META[k].key;
      if (state[key] && r.meta[key] !== state[key]) { return false; }
    }
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
    SELECTS.forEach(function (k) {
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
    META.forEach(function (m) { state[m.key] = inputs[m.key].value; });
    limit = PAGE;
    render();
    toHash();
  }

  var timer = null;
  inputs.q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(onChange, 120);
  });
  SELECTS.forEach(function (k) { inputs[k].addEventListener("change", onChange); });
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
    if ((location.hash || "").indexOf("#objectifs?") === 0) {
      state = Object.assign({}, DEFAULTS);  // a link (e.g. a cell of the matrix) sets every filter
      fromHash(); syncInputs(); limit = PAGE; render();
      document.getElementById("objectifs").scrollIntoView();
    }
    else { reveal(location.hash); }
  });

  /* Two declarations side by side: theme shares of the two chosen documents. */
  var cmpA = document.getElementById("cmp-a"), cmpB = document.getElementById("cmp-b");
  if (cmpA && cmpB && data.docs.length) {
    var share = {};
    (data.shares || []).forEach(function (x) { share[x[0] + ":" + x[1]] = x[2]; });
    data.docs.forEach(function (d, i) { option(cmpA, String(i), d[1]); option(cmpB, String(i), d[1]); });
    cmpB.value = String(Math.min(1, data.docs.length - 1));
    var cmpBody = document.querySelector("#cmp-table tbody");
    function pct(v) { return v ? (Math.round(v * 1000) / 10).toLocaleString("fr") + "\u00a0%" : "—"; }
    function bar(v, cls) {
      var b = document.createElement("span");
      b.className = "bar " + cls;
      b.style.width = Math.round(Math.min(v / 0.5, 1) * 100) + "%";
      return b;
    }
    function renderCmp() {
      var a = +cmpA.value, b = +cmpB.value;
      document.getElementById("cmp-ha").textContent = data.docs[a][1];
      document.getElementById("cmp-hb").textContent = data.docs[b][1];
      var frag = document.createDocumentFragment();
      data.themes.forEach(function (t, k) {
        var va = share[a + ":" + k] || 0, vb = share[b + ":" + k] || 0;
        if (!va && !vb) { return; }
        var tr = document.createElement("tr");
        var tc = document.createElement("td"); tc.appendChild(chip(t[0])); tr.appendChild(tc);
        [[va, a], [vb, b]].forEach(function (p) {
          var td = document.createElement("td"); td.className = "num";
          var link = document.createElement("a");
          link.href = "#objectifs?commune=" + encodeURIComponent(data.docs[p[1]][0]) +
            "&theme=" + encodeURIComponent(t[0]) + "&kind=all";
          link.textContent = pct(p[0]);
          link.title = "voir ces unités";
          td.appendChild(p[0] ? link : document.createTextNode("—"));
          tr.appendChild(td);
        });
        var bars = document.createElement("td"); bars.className = "bars";
        bars.appendChild(bar(va, "a")); bars.appendChild(bar(vb, "b"));
        tr.appendChild(bars);
        frag.appendChild(tr);
      });
      cmpBody.textContent = "";
      cmpBody.appendChild(frag);
    }
    cmpA.addEventListener("change", renderCmp);
    cmpB.addEventListener("change", renderCmp);
    renderCmp();
  }

  var initial = fromHash();
  syncInputs();
  render();
  if (initial === "#objectifs") { document.getElementById("objectifs").scrollIntoView(); }
  else { reveal(location.hash); }
  document.body.dataset.reportReady = "1";
})();
