/* hypertrack wallet dashboard.
 * Every string that comes from the data is put into the page with textContent / attributes set via
 * DOM APIs; this script never assigns innerHTML. Only the cards in (or near) the viewport exist in
 * the DOM, so 100 000 wallets cost the same per frame as 100. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var CARD_MIN_W = 300;
  var OVERSCAN_ROWS = 2;
  var GAUGES = [
    ["risk", "Risk", "var(--risk)"],
    ["prof", "Profitability", "var(--prof)"],
    ["bot", "Bot prob.", "var(--bot)"],
    ["soph", "Sophistication", "var(--soph)"],
  ];
  var SORTS = [
    ["npnl", "Net PnL (after fees)"], ["tpnl", "Total PnL (before fees)"], ["rpnl", "Realized PnL"], ["upnl", "Unrealized PnL"], ["notional", "Notional"],
    ["ppn", "PnL / notional"], ["win", "Win rate"], ["mdd", "Max drawdown"], ["risk", "Risk score"],
    ["prof", "Profitability score"], ["skill", "Skill (P(edge > 0))"], ["bot", "Bot probability"], ["soph", "Sophistication score"],
    ["infl", "Influence score"], ["fees", "Fees paid"], ["liq", "Liquidations"], ["addr", "Address"],
  ];
  var STYLE_NAMES = ["Momentum", "Mean reversion", "Volatility trading", "Market making", "Trend following", "Contrarian"];
  var NUMERIC = ["risk", "prof", "skill", "bot", "soph", "infl", "npnl", "fees", "liq", "tpnl", "rpnl", "upnl", "notional", "ppn", "win", "mdd"];

  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }

  // ---------- number formatting ----------
  function fmtUsd(v) {
    if (!isNum(v)) return "\u2013";
    var a = Math.abs(v), s = v < 0 ? "-" : "";
    if (a >= 1e9) return s + "$" + (a / 1e9).toFixed(2) + "B";
    if (a >= 1e6) return s + "$" + (a / 1e6).toFixed(2) + "M";
    if (a >= 1e3) return s + "$" + (a / 1e3).toFixed(1) + "k";
    return s + "$" + a.toFixed(2);
  }
  function fmtSigned(v) { return isNum(v) && v > 0 ? "+" + fmtUsd(v) : fmtUsd(v); }
  function fmtNum(v, digits) {
    if (!isNum(v)) return "\u2013";
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e6 || a < 1e-3) return v.toExponential(Math.max(1, (digits || 4) - 1));
    return String(Number(v.toPrecision(digits || 4)));
  }
  function fmtPct(v) { return isNum(v) ? (v * 100).toFixed(1) + "%" : "\u2013"; }
  function fmtScore(v) { return isNum(v) ? v.toFixed(2) : "\u2013"; }
  function shortAddr(a) { return a.length > 16 ? a.slice(0, 8) + "\u2026" + a.slice(-6) : a; }
  function signClass(v) { return !isNum(v) || v === 0 ? "" : v > 0 ? "pos" : "neg"; }
  function fmtTime(ms) { return isNum(ms) ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "\u2013"; }
  function fmtHour(h) { return new Date(h * 3600 * 1000).toISOString().slice(0, 13).replace("T", " ") + ":00Z"; }

  // ---------- data ----------
  var P = JSON.parse($("dashboard-data").textContent);
  var N = P.n | 0;
  var C = P.cols || {};
  var D = P.dicts || { cat: [], size: [], pnl: [], kir: [] };
  var ADDR = C.addr || [];
  var num = {};
  NUMERIC.forEach(function (k) {
    if (!C[k]) return;
    var src = C[k], arr = new Float64Array(N);
    for (var i = 0; i < N; i++) { var v = src[i]; arr[i] = v === null || v === undefined ? NaN : v; }
    num[k] = arr;
  });
  var CAT = C.cat || null, CONF = C.conf || null;
  var PNL_KEY = num.npnl ? "npnl" : num.tpnl ? "tpnl" : null; // net of fees where wallet_pnl has it

  // detail rows: wallet index -> detail row; positions and curve points grouped per detail row
  var detail = P.detail || { row: [] };
  var detailOf = new Map();
  (detail.row || []).forEach(function (w, d) { detailOf.set(w, d); });
  function runsOf(part) {
    // detail row d owns items off[d]..off[d+1] of a flat column set; undefined when it has none
    return {
      get: function (d) {
        if (!part || !part.off || d < 0 || d + 1 >= part.off.length) return undefined;
        var a = part.off[d], b = part.off[d + 1];
        return b > a ? [a, b] : undefined;
      },
    };
  }
  var posRuns = runsOf(detail.pos);
  var curveRuns = runsOf(detail.curve);

  // Fills sit in their own JSON element after this script (see payload.py): parsed on first use, so
  // first render never pays for them. null until the parser has reached the element.
  var FILLS = null, fillsFailed = false;
  function fillsData() {
    if (FILLS || fillsFailed) return FILLS;
    var e = $("dashboard-fills");
    if (!e) return null;
    try { FILLS = JSON.parse(e.textContent); } catch (err) { fillsFailed = true; }
    return FILLS;
  }
  var explorerBase = "https://app.hyperliquid.xyz/explorer/address/";

  // wallet lookup for deep links: cols.addr is sorted, so binary search, then a case-insensitive scan
  function findWallet(addr) {
    var q = String(addr).trim().toLowerCase(), lo = 0, hi = N - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, a = ADDR[mid];
      if (a === q) return mid;
      if (a < q) lo = mid + 1; else hi = mid - 1;
    }
    for (var i = 0; i < N; i++) if (String(ADDR[i]).toLowerCase() === q) return i;
    return -1;
  }

  // ---------- state ----------
  var state = { q: "", cat: -1, size: -1, pnl: -1, kir: -1, wash: false, liq: false, key: null, desc: true };
  var view = new Int32Array(0);
  var sortCache = new Map();

  function sortedAll(key, desc) {
    var ck = key + (desc ? ":d" : ":a");
    if (sortCache.has(ck)) return sortCache.get(ck);
    var idx = new Int32Array(N);
    for (var i = 0; i < N; i++) idx[i] = i;
    if (key === "addr") {
      idx.sort(function (a, b) { return (ADDR[a] < ADDR[b] ? -1 : ADDR[a] > ADDR[b] ? 1 : 0) * (desc ? -1 : 1); });
    } else if (num[key]) {
      var col = num[key], dir = desc ? -1 : 1;
      idx.sort(function (a, b) {
        var x = col[a], y = col[b], xn = x !== x, yn = y !== y;
        if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1; // missing values always last
        return x === y ? a - b : (x < y ? -1 : 1) * dir;
      });
    }
    sortCache.set(ck, idx);
    return idx;
  }

  function normQuery(q) {
    q = q.trim().toLowerCase();
    if (q && q.indexOf("0x") !== 0 && /^[0-9a-f]+$/.test(q)) q = "0x" + q;
    return q;
  }

  function applyView() {
    var order = sortedAll(state.key, state.desc);
    var out = new Int32Array(N), m = 0, q = state.q;
    var size = C.size, pnlc = C.pnlc, kir = C.kir, wash = C.wash;
    for (var j = 0; j < N; j++) {
      var i = order[j];
      if (q && ADDR[i].lastIndexOf(q, 0) !== 0) continue;
      if (state.cat >= 0 && !(CAT && CAT[i] && CAT[i].indexOf(state.cat) >= 0)) continue;
      if (state.size >= 0 && !(size && size[i] === state.size)) continue;
      if (state.pnl >= 0 && !(pnlc && pnlc[i] === state.pnl)) continue;
      if (state.kir >= 0 && !(kir && kir[i] === state.kir)) continue;
      if (state.wash && !(wash && wash[i] === 1)) continue;
      if (state.liq && !(num.liq && num.liq[i] > 0)) continue;
      out[m++] = i;
    }
    view = out.subarray(0, m);
    $("result-count").textContent = "showing " + m.toLocaleString("en-US") + " of " + N.toLocaleString("en-US") + " wallets";
    $("empty").hidden = m > 0;
    if (N === 0) $("empty").textContent = "No wallets yet: run the pipeline (or `hypertrack demo`) and rebuild the report.";
    grid.reset();
  }

  // ---------- SVG charts ----------
  function gauge(value, label, color) {
    var box = el("div", "gauge");
    var s = svg("svg", { viewBox: "0 0 100 62", role: "img", "aria-label": label + " " + fmtScore(value) });
    var arc = "M 10 54 A 40 40 0 0 1 90 54";
    s.appendChild(svg("path", { d: arc, fill: "none", "stroke-width": 10, "stroke-linecap": "round", pathLength: 100, class: "gauge-track" }));
    if (isNum(value)) {
      var v = Math.max(0, Math.min(1, value));
      var p = svg("path", { d: arc, fill: "none", "stroke-width": 10, "stroke-linecap": "round", pathLength: 100,
        "stroke-dasharray": (v * 100).toFixed(1) + " 100", class: "gauge-value" });
      p.style.stroke = color;
      s.appendChild(p);
    }
    var t = svg("text", { x: 50, y: 52, "text-anchor": "middle", "font-size": 17, fill: "currentColor", "font-weight": 600 });
    t.textContent = fmtScore(value);
    s.appendChild(t);
    box.appendChild(s);
    box.appendChild(el("div", "label", label));
    return box;
  }

  function pnlChart(ts, vs) {
    var W = 900, H = 240, L = 64, R = 12, T = 14, B = 26;
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Cumulative PnL curve", class: "pnl-curve" });
    var n = vs.length;
    s.setAttribute("data-points", String(n));
    if (n === 0) return s;
    var t0 = ts[0], t1 = ts[n - 1], vmin = 0, vmax = 0;
    for (var i = 0; i < n; i++) { if (vs[i] < vmin) vmin = vs[i]; if (vs[i] > vmax) vmax = vs[i]; }
    if (vmax === vmin) { vmax += 1; vmin -= 1; }
    var x = function (t) { return L + (t1 === t0 ? (W - L - R) / 2 : (t - t0) / (t1 - t0) * (W - L - R)); };
    var y = function (v) { return T + (vmax - v) / (vmax - vmin) * (H - T - B); };
    s.appendChild(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#3a4763", "stroke-dasharray": "4 4" }));
    var pts = [];
    for (var j = 0; j < n; j++) pts.push(x(ts[j]).toFixed(1) + "," + y(vs[j]).toFixed(1));
    var last = vs[n - 1], color = last >= 0 ? "var(--pos)" : "var(--neg)";
    var area = svg("polygon", { points: x(ts[0]).toFixed(1) + "," + y(0).toFixed(1) + " " + pts.join(" ") + " " +
      x(ts[n - 1]).toFixed(1) + "," + y(0).toFixed(1), opacity: 0.15 });
    area.style.fill = color;
    s.appendChild(area);
    var line = svg("polyline", { points: pts.join(" "), fill: "none", "stroke-width": 2, "stroke-linejoin": "round" });
    line.style.stroke = color;
    s.appendChild(line);
    function label(xv, yv, text, anchor) {
      var t = svg("text", { x: xv, y: yv, "font-size": 10, fill: "#8b96ab", "text-anchor": anchor || "start" });
      t.textContent = text;
      s.appendChild(t);
    }
    label(L - 6, y(vmax) + 4, fmtUsd(vmax), "end");
    label(L - 6, y(vmin) + 4, fmtUsd(vmin), "end");
    if (vmax > 0 && vmin < 0) label(L - 6, y(0) + 4, "$0", "end");
    label(L, H - 8, fmtHour(t0), "start");
    label(W - R, H - 8, fmtHour(t1), "end");
    return s;
  }

  function sparkline(vs, a, b) {
    var W = 120, H = 30, s = svg("svg", { viewBox: "0 0 " + W + " " + H, class: "spark", "aria-hidden": "true" });
    var n = b - a;
    if (n < 2) return s;
    var lo = Infinity, hi = -Infinity;
    for (var i = a; i < b; i++) { if (vs[i] < lo) lo = vs[i]; if (vs[i] > hi) hi = vs[i]; }
    if (hi === lo) { hi += 1; lo -= 1; }
    var pts = [];
    for (var j = a; j < b; j++) pts.push(((j - a) / (n - 1) * W).toFixed(1) + "," + (2 + (hi - vs[j]) / (hi - lo) * (H - 4)).toFixed(1));
    var line = svg("polyline", { points: pts.join(" "), fill: "none", "stroke-width": 1.5 });
    line.style.stroke = vs[b - 1] >= 0 ? "var(--pos)" : "var(--neg)";
    s.appendChild(line);
    return s;
  }

  function bar(value, lo, hi, diverging) {
    var b = el("div", "bar" + (diverging ? " diverging" : ""));
    var span = el("span");
    if (isNum(value)) {
      var f = Math.max(0, Math.min(1, (value - lo) / (hi - lo)));
      if (diverging) {
        var mid = 0.5;
        span.style.left = (Math.min(mid, f) * 100).toFixed(1) + "%";
        span.style.width = (Math.abs(f - mid) * 100).toFixed(1) + "%";
        if (value < 0) span.style.background = "var(--neg)";
      } else {
        span.style.left = "0";
        span.style.width = (f * 100).toFixed(1) + "%";
      }
    }
    b.appendChild(span);
    return b;
  }

  // ---------- clipboard ----------
  var toastTimer = 0;
  function toast(text) {
    var t = $("toast");
    t.textContent = text;
    t.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.classList.remove("show"); }, 1600);
  }
  function copyText(text) {
    function fallback() {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      ta.remove();
      return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }
    var p = navigator.clipboard && navigator.clipboard.writeText ? navigator.clipboard.writeText(text).catch(fallback) : fallback();
    return p.then(function () { toast("Copied " + shortAddr(text)); }, function () { toast("Copy failed: select the address by hand"); });
  }
  function copyButton(addr) {
    var b = el("button", "btn small copy", "Copy");
    b.type = "button";
    b.title = "Copy " + addr;
    b.setAttribute("aria-label", "Copy address " + addr);
    b.addEventListener("click", function (ev) { ev.stopPropagation(); copyText(addr); });
    return b;
  }

  // ---------- categories ----------
  function categoriesOf(i) {
    if (!CAT || !CAT[i]) return [];
    var out = [];
    for (var k = 0; k < CAT[i].length; k++) out.push([CAT[i][k], CONF && CONF[i] ? CONF[i][k] : null]);
    out.sort(function (a, b) { return (isNum(b[1]) ? b[1] : -1) - (isNum(a[1]) ? a[1] : -1); });
    return out;
  }
  function catName(k) { return k >= 0 && k < D.cat.length ? String(D.cat[k]) : "?"; }
  function dictName(dict, k) { return dict && k >= 0 && k < dict.length ? String(dict[k]) : null; }

  // ---------- cards and the virtualized grid ----------
  function buildCard(i, rank) {
    var card = el("article", "card");
    card.tabIndex = 0;
    card.setAttribute("data-wallet", ADDR[i]);
    var head = el("div", "card-head");
    head.appendChild(el("span", "rank", "#" + rank));
    var a = el("span", "addr", shortAddr(ADDR[i]));
    a.title = ADDR[i];
    head.appendChild(a);
    head.appendChild(copyButton(ADDR[i]));
    card.appendChild(head);

    var cats = el("div", "cats");
    var list = categoriesOf(i);
    if (list.length === 0) cats.appendChild(el("span", "chip c", P.sections.categories ? "no category" : "categories n/a"));
    for (var k = 0; k < Math.min(3, list.length); k++) {
      var chip = el("span", "chip cat");
      chip.appendChild(document.createTextNode(catName(list[k][0]) + " "));
      chip.appendChild(el("span", "c", isNum(list[k][1]) ? list[k][1].toFixed(2) : ""));
      cats.appendChild(chip);
    }
    if (list.length > 3) cats.appendChild(el("span", "chip c", "+" + (list.length - 3)));
    card.appendChild(cats);

    var g = el("div", "gauges");
    GAUGES.forEach(function (spec) { g.appendChild(gauge(num[spec[0]] ? num[spec[0]][i] : NaN, spec[1], spec[2])); });
    card.appendChild(g);

    var mid = el("div", "card-mid");
    var d = detailOf.has(i) ? detailOf.get(i) : -1;
    var run = d >= 0 ? curveRuns.get(d) : undefined;
    if (run) mid.appendChild(sparkline(detail.curve.v, run[0], run[1]));
    var facts = [];
    if (num.win && isNum(num.win[i])) facts.push("win " + fmtPct(num.win[i]));
    if (num.infl && isNum(num.infl[i])) facts.push("infl " + fmtNum(num.infl[i], 3) + "\u2030");
    var kname = dictName(D.kir, C.kir ? C.kir[i] : -1);
    if (kname) facts.push(kname);
    mid.appendChild(el("span", "facts", facts.join(" \u00b7 ")));
    card.appendChild(mid);

    var foot = el("div", "card-foot");
    var pnl = num.npnl ? num.npnl[i] : num.tpnl ? num.tpnl[i] : NaN;
    var left = el("span");
    left.appendChild(document.createTextNode(num.npnl ? "Net PnL " : "PnL "));
    left.appendChild(el("span", "pnl " + signClass(pnl), fmtSigned(pnl)));
    foot.appendChild(left);
    foot.appendChild(el("span", null, "notional " + fmtUsd(num.notional ? num.notional[i] : NaN)));
    var coh = [dictName(D.size, C.size ? C.size[i] : -1), dictName(D.pnl, C.pnlc ? C.pnlc[i] : -1)].filter(Boolean);
    if (coh.length) foot.appendChild(el("span", "cohort", coh.join(" \u00b7 ")));
    card.appendChild(foot);

    card.addEventListener("click", function () { openWallet(i); });
    card.addEventListener("keydown", function (ev) { if (ev.key === "Enter") openWallet(i); });
    return card;
  }

  var grid = (function () {
    var host = $("grid");
    var live = new Map(); // view position -> card element
    var cols = 1, cardW = CARD_MIN_W, rowH = 266, gap = 14, lastRange = "", pending = false;

    function measure() {
      var cs = getComputedStyle(document.documentElement);
      gap = parseFloat(cs.getPropertyValue("--gap")) || 14;
      rowH = (parseFloat(cs.getPropertyValue("--card-h")) || 252) + gap;
      var w = host.clientWidth || window.innerWidth;
      cols = Math.max(1, Math.floor((w + gap) / (CARD_MIN_W + gap)));
      cardW = (w - gap * (cols - 1)) / cols;
      host.style.height = Math.ceil(view.length / cols) * rowH + "px";
    }
    function render() {
      pending = false;
      var top = host.getBoundingClientRect().top;
      var first = Math.max(0, Math.floor(-top / rowH) - OVERSCAN_ROWS);
      var last = Math.min(Math.ceil(view.length / cols) - 1, Math.floor((window.innerHeight - top) / rowH) + OVERSCAN_ROWS);
      var lo = first * cols, hi = Math.min(view.length, (last + 1) * cols);
      var key = lo + ":" + hi + ":" + cols + ":" + cardW;
      if (key === lastRange) return;
      lastRange = key;
      live.forEach(function (card, pos) { if (pos < lo || pos >= hi) { card.remove(); live.delete(pos); } });
      for (var pos = lo; pos < hi; pos++) {
        var card = live.get(pos);
        if (!card) { card = buildCard(view[pos], pos + 1); live.set(pos, card); host.appendChild(card); }
        card.style.transform = "translate(" + ((pos % cols) * (cardW + gap)).toFixed(1) + "px," + (Math.floor(pos / cols) * rowH) + "px)";
        card.style.width = cardW.toFixed(1) + "px";
      }
    }
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", function () { measure(); lastRange = ""; schedule(); });
    return {
      reset: function () {
        live.forEach(function (card) { card.remove(); });
        live.clear();
        lastRange = "";
        measure();
        render();
      },
      liveCount: function () { return live.size; },
    };
  })();

  // ---------- modal ----------
  var lastFocus = null, modalWallet = null;
  function openModal(title, body, kind) {
    if ($("modal-backdrop").hidden) lastFocus = document.activeElement;
    modalWallet = kind === "wallet" || kind === "missing" ? body.getAttribute("data-wallet") : null;
    $("modal-title").textContent = title;
    var mb = $("modal-body");
    mb.replaceChildren(body);
    $("modal-backdrop").setAttribute("data-kind", kind);
    $("modal-backdrop").hidden = false;
    document.body.style.overflow = "hidden";
    $("modal-close").focus();
  }
  function closeModal() {
    var wasWallet = modalWallet !== null;
    modalWallet = null;
    if (wasWallet && hashWallet() !== null) clearHash();
    $("modal-backdrop").hidden = true;
    $("modal-body").replaceChildren();
    document.body.style.overflow = "";
    if (lastFocus && lastFocus.focus) lastFocus.focus();
  }
  $("modal-close").addEventListener("click", closeModal);
  $("modal-backdrop").addEventListener("click", function (ev) { if (ev.target === $("modal-backdrop")) closeModal(); });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !$("modal-backdrop").hidden) closeModal(); });

  $("docs-btn").addEventListener("click", function () {
    var frag = document.importNode($("readme-template").content, true);
    openModal("Documentation", frag, "docs");
  });

  function section(title) {
    var s = el("section");
    s.appendChild(el("h3", null, title));
    return s;
  }
  function figure(k, v, cls) {
    var f = el("div", "figure");
    f.appendChild(el("div", "k", k));
    f.appendChild(el("div", "v " + (cls || ""), v));
    return f;
  }
  function kv(k, v) {
    var r = el("div", "kv");
    r.appendChild(el("span", "k", k));
    r.appendChild(el("span", "v", v));
    return r;
  }

  // ---------- deep links: #wallet=0x… ----------
  function hashWallet() {
    var m = /^#wallet=([^&]*)/.exec(location.hash || "");
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; }
  }
  function clearHash() {
    try { history.pushState(null, "", location.pathname + location.search); } catch (e) { location.hash = ""; }
  }
  function onHash() {
    var want = hashWallet();
    if (want === null) {
      if (modalWallet !== null) closeModal();
      return;
    }
    if (modalWallet !== null && modalWallet.toLowerCase() === want.toLowerCase()) return;
    var i = findWallet(want);
    if (i >= 0) { openWallet(i, true); return; }
    var box = el("div", "wallet-missing");
    box.setAttribute("data-wallet", want);
    box.appendChild(el("p", null, "No wallet " + want + " in this dashboard."));
    box.appendChild(el("p", "note", "It shows the " + N.toLocaleString("en-US") +
      " wallets the report analyzed. Check the address, or query the warehouse:"));
    box.appendChild(el("code", "sql", sqlFor(want)));
    openModal("Wallet not found", box, "missing");
  }
  window.addEventListener("hashchange", onHash);
  function sqlFor(addr) {
    return "hypertrack sql \"select * from fills where wallet = '" + String(addr).toLowerCase().replace(/'/g, "''") +
      "' order by time_ms desc limit 200\"";
  }

  function explorerLink(addr) {
    var a = el("a", "explorer", "Hyperliquid explorer \u2197");
    a.setAttribute("href", explorerBase + encodeURIComponent(addr));
    a.setAttribute("rel", "noopener noreferrer");
    a.setAttribute("target", "_blank");
    return a;
  }

  function fillsSection(d, addr) {
    var fs = section("Recent fills");
    fs.className = "fills";
    if (!P.sections.fills || d < 0) {
      fs.appendChild(el("p", "note fills-note", !P.sections.fills
        ? "Fills were not in the warehouse when this dashboard was built. Query them with:"
        : "Fills are embedded for the " + (P.detail_limit | 0).toLocaleString("en-US") +
          " wallets with the largest notional only; this wallet's are not embedded. Query them with:"));
      fs.appendChild(el("code", "sql", sqlFor(addr)));
      return fs;
    }
    var F = fillsData();
    if (!F) {
      var wait = el("p", "note", fillsFailed ? "The embedded fills could not be read." : "Loading fills\u2026");
      fs.appendChild(wait);
      if (!fillsFailed) {
        document.addEventListener("DOMContentLoaded", function () {
          if (fs.isConnected) fs.replaceWith(fillsSection(d, addr));
        }, { once: true });
      }
      return fs;
    }
    var a = d + 1 < F.off.length ? F.off[d] : 0, b = d + 1 < F.off.length ? F.off[d + 1] : 0;
    if (b <= a) { fs.appendChild(el("p", "note", "No fills for this wallet.")); return fs; }
    var lim = F.limit | 0;
    fs.appendChild(el("p", "note", "Last " + (b - a) + " fills, newest first" +
      (b - a >= lim ? " (the " + lim + " most recent are embedded)" : "") + "."));
    var wrap = el("div", "table-scroll");
    var tbl = el("table", "data fills");
    var thead = el("tr");
    ["Time (UTC)", "Coin", "Side", "Price", "Size", "Notional", "Maker/taker", "Counterparty"].forEach(function (h) {
      thead.appendChild(el("th", null, h));
    });
    tbl.appendChild(thead);
    var t = F.newest;
    for (var r = a; r < b; r++) {
      t = (r === a ? F.newest : t) - F.t[r];
      var flag = F.flag[r] | 0, px = F.px[r], sz = F.sz[r];
      var tr = el("tr");
      tr.setAttribute("data-time", String(t));
      tr.appendChild(el("td", "time", fmtTime(t)));
      var coin = F.coin[r];
      tr.appendChild(el("td", "coin", coin >= 0 && coin < F.coins.length ? String(F.coins[coin]) : "?"));
      tr.appendChild(el("td", flag & 1 ? "side pos" : "side neg", flag & 1 ? "Buy" : "Sell"));
      tr.appendChild(el("td", "px", fmtNum(px, 7)));
      tr.appendChild(el("td", "sz", fmtNum(sz, 7)));
      tr.appendChild(el("td", "notional", isNum(px) && isNum(sz) ? fmtUsd(px * sz) : "\u2013"));
      tr.appendChild(el("td", "role", flag & 2 ? "maker" : "taker"));
      var cp = F.cp[r], td = el("td", "cp mono");
      var other = cp >= 0 ? (cp < N ? ADDR[cp] : null) : (-1 - cp < F.cps.length ? F.cps[-1 - cp] : null);
      if (other === null) {
        td.textContent = "\u2013";
      } else if (cp >= 0) {
        var link = el("a", null, shortAddr(String(other)));
        link.setAttribute("href", "#wallet=" + encodeURIComponent(other));
        link.setAttribute("title", String(other));
        td.appendChild(link);
      } else {
        td.textContent = shortAddr(String(other));
        td.setAttribute("title", String(other));
      }
      td.setAttribute("data-address", String(other === null ? "" : other));
      tr.appendChild(td);
      tbl.appendChild(tr);
    }
    wrap.appendChild(tbl);
    fs.appendChild(wrap);
    return fs;
  }

  function openWallet(i, fromHash) {
    var addr = ADDR[i];
    if (!fromHash) {
      var h = hashWallet();
      if (h === null || h.toLowerCase() !== String(addr).toLowerCase()) {
        // the hashchange this fires finds the panel already open and does nothing
        modalWallet = addr;
        location.hash = "wallet=" + encodeURIComponent(addr);
      }
    }
    var body = el("div", "wallet-panel");
    body.setAttribute("data-wallet", addr);
    var d = detailOf.has(i) ? detailOf.get(i) : -1;

    var idRow = el("div", "chips");
    var full = el("span", "addr mono", addr);
    idRow.appendChild(full);
    idRow.appendChild(copyButton(addr));
    idRow.appendChild(explorerLink(addr));
    var tags = [["trader class", dictName(D.kir, C.kir ? C.kir[i] : -1)], ["size", dictName(D.size, C.size ? C.size[i] : -1)],
      ["PnL cohort", dictName(D.pnl, C.pnlc ? C.pnlc[i] : -1)]];
    tags.forEach(function (t) { if (t[1]) idRow.appendChild(el("span", "chip", t[0] + ": " + t[1])); });
    if (C.wash && C.wash[i] === 1) idRow.appendChild(el("span", "chip neg", "wash trading flagged"));
    body.appendChild(idRow);
    var hasDetail = P.sections.curves || P.sections.positions || P.sections.features;
    if (d < 0 && hasDetail) body.appendChild(el("p", "note detail-note", detailNote()));

    var top = el("div", "two-col");
    var sc = section("Scores");
    var g = el("div", "gauges");
    GAUGES.forEach(function (spec) { g.appendChild(gauge(num[spec[0]] ? num[spec[0]][i] : NaN, spec[1], spec[2])); });
    sc.appendChild(g);
    sc.appendChild(kv("Influence (\u2030 of traded notional)", fmtNum(num.infl ? num.infl[i] : NaN, 4)));
    if (d >= 0 && detail.style && detail.style[d]) {
      sc.appendChild(el("h3", null, "Trading style"));
      STYLE_NAMES.forEach(function (name, k) {
        var r = el("div", "bar-row");
        var v = detail.style[d][k];
        r.appendChild(el("span", "name", name));
        r.appendChild(bar(v, -1, 1, true));
        r.appendChild(el("span", "v", fmtNum(v, 3)));
        sc.appendChild(r);
      });
    }
    top.appendChild(sc);

    var cs = section("Categories");
    var list = categoriesOf(i);
    if (!list.length) cs.appendChild(el("p", "note", P.sections.categories ? "No category rule holds for this wallet." : "Categories were not computed."));
    list.forEach(function (c) {
      var r = el("div", "bar-row category");
      r.appendChild(el("span", "name", catName(c[0])));
      r.appendChild(bar(c[1], 0, 1, false));
      r.appendChild(el("span", "v", isNum(c[1]) ? c[1].toFixed(2) : "\u2013"));
      cs.appendChild(r);
    });
    top.appendChild(cs);
    body.appendChild(top);

    var ps = section("PnL");
    if (P.sections.pnl) {
      var figs = el("div", "figures");
      var v = function (k) { return num[k] ? num[k][i] : NaN; };
      if (num.npnl) figs.appendChild(figure("Net PnL", fmtSigned(v("npnl")), signClass(v("npnl"))));
      figs.appendChild(figure("Total PnL", fmtSigned(v("tpnl")), signClass(v("tpnl"))));
      if (num.fees) figs.appendChild(figure("Fees", fmtUsd(v("fees"))));
      figs.appendChild(figure("Realized", fmtSigned(v("rpnl")), signClass(v("rpnl"))));
      figs.appendChild(figure("Unrealized", fmtSigned(v("upnl")), signClass(v("upnl"))));
      figs.appendChild(figure("Notional", fmtUsd(v("notional"))));
      figs.appendChild(figure("PnL / notional", isNum(v("ppn")) ? (v("ppn") * 1e4).toFixed(1) + " bp" : "\u2013", signClass(v("ppn"))));
      figs.appendChild(figure("Win rate", fmtPct(v("win"))));
      if (num.skill) figs.appendChild(figure("Skill: P(edge > 0)", fmtPct(v("skill")), v("skill") >= 0.9 ? "pos" : ""));
      figs.appendChild(figure("Max drawdown", fmtUsd(v("mdd"))));
      if (num.liq && v("liq") > 0) figs.appendChild(figure("Liquidations", String(v("liq")), "neg"));
      ps.appendChild(figs);
    } else {
      ps.appendChild(el("p", "note", "PnL was not computed."));
    }
    var run = d >= 0 ? curveRuns.get(d) : undefined;
    if (run) {
      var chart = el("div", "chart");
      var t0 = detail.curve.t0 || 0;
      chart.appendChild(pnlChart(detail.curve.t.slice(run[0], run[1]).map(function (h) { return h + t0; }),
        detail.curve.v.slice(run[0], run[1])));
      ps.appendChild(chart);
    } else if (P.sections.curves && d >= 0) {
      ps.appendChild(el("p", "note", "No hourly PnL for this wallet."));
    }
    body.appendChild(ps);
    if (d < 0 && hasDetail) {
      body.appendChild(fillsSection(d, addr));
      openModal("Wallet " + shortAddr(addr), body, "wallet");
      return;
    }

    var pos = section("Positions");
    var prun = d >= 0 ? posRuns.get(d) : undefined;
    if (prun) {
      var open = 0;
      for (var q = prun[0]; q < prun[1]; q++) if (isNum(detail.pos.size[q]) && detail.pos.size[q] !== 0) open++;
      pos.appendChild(el("p", "note open-count", open + " open (non-zero position) of " + (prun[1] - prun[0]) + " shown"));
      var tbl = el("table", "data positions");
      var thead = el("tr");
      ["Coin", "Position", "Avg cost", "Realized PnL", "Unrealized PnL"].forEach(function (h) { thead.appendChild(el("th", null, h)); });
      tbl.appendChild(thead);
      var pp = detail.pos;
      for (var r = prun[0]; r < prun[1]; r++) {
        var tr = el("tr");
        tr.appendChild(el("td", "coin", pp.coin[r]));
        tr.appendChild(el("td", null, fmtNum(pp.size[r], 6)));
        tr.appendChild(el("td", null, fmtNum(pp.avg[r], 6)));
        tr.appendChild(el("td", signClass(pp.rpnl[r]), fmtSigned(pp.rpnl[r])));
        tr.appendChild(el("td", signClass(pp.upnl[r]), fmtSigned(pp.upnl[r])));
        tbl.appendChild(tr);
      }
      pos.appendChild(tbl);
    } else {
      pos.appendChild(el("p", "note", !P.sections.positions ? "Positions were not computed." : "No open or closed positions."));
    }
    body.appendChild(pos);
    body.appendChild(fillsSection(d, addr));

    var fs = section("Features");
    if (d >= 0 && detail.feat && detail.feat[d]) {
      var box = el("div", "features");
      P.features.forEach(function (name, k) { box.appendChild(kv(name, fmtNum(detail.feat[d][k], 5))); });
      fs.appendChild(box);
    } else {
      fs.appendChild(el("p", "note", !P.sections.features ? "Features were not computed." : "No feature row."));
    }
    body.appendChild(fs);
    openModal("Wallet " + shortAddr(addr), body, "wallet");
  }
  function detailNote() {
    return "Curves, positions, style and features are embedded for the " + (P.detail_limit | 0).toLocaleString("en-US") +
      " wallets with the largest notional only; this wallet is not among them.";
  }

  // ---------- CSV export of the current view ----------
  var CSV_COLS = [["risk", "risk_score"], ["prof", "profitability_score"], ["skill", "skill_confidence"],
    ["bot", "bot_probability"],
    ["soph", "sophistication_score"], ["infl", "influence_score"], ["npnl", "net_pnl"], ["fees", "fees"],
    ["liq", "liquidations"], ["tpnl", "total_pnl"], ["rpnl", "realized_pnl"],
    ["upnl", "unrealized_pnl"], ["notional", "notional"], ["ppn", "pnl_per_notional"], ["win", "win_rate"],
    ["mdd", "max_drawdown"]];
  function csvText(v) {
    var s = String(v);
    // a spreadsheet would run a cell starting with = + - @ (or tab / CR) as a formula: make it text
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function buildCsv(rows) {
    var cols = CSV_COLS.filter(function (c) { return num[c[0]]; });
    var out = [["address", "primary_category", "categories"].concat(cols.map(function (c) { return c[1]; })).join(",")];
    for (var j = 0; j < rows.length; j++) {
      var i = rows[j];
      var prim = C.prim && C.prim[i] >= 0 ? catName(C.prim[i]) : "";
      var cats = categoriesOf(i).map(function (c) { return catName(c[0]) + (isNum(c[1]) ? " (" + c[1] + ")" : ""); }).join("; ");
      var line = [csvText(ADDR[i]), csvText(prim), csvText(cats)];
      for (var k = 0; k < cols.length; k++) { var v = num[cols[k][0]][i]; line.push(isNum(v) ? String(v) : ""); }
      out.push(line.join(","));
    }
    return out.join("\r\n") + "\r\n";
  }
  function exportCsv() {
    var blob = new Blob(["\ufeff" + buildCsv(view)], { type: "text/csv;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.setAttribute("href", url);
    a.setAttribute("download", "hypertrack_wallets.csv");
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    toast("Exported " + view.length.toLocaleString("en-US") + " wallets");
  }

  // ---------- summary, model, controls ----------
  function renderSummary() {
    var withCat = 0, counts = new Array(D.cat.length).fill(0), profitable = 0, notional = 0;
    for (var i = 0; i < N; i++) {
      if (CAT && CAT[i] && CAT[i].length) {
        withCat++;
        for (var k = 0; k < CAT[i].length; k++) counts[CAT[i][k]]++;
      }
      if (PNL_KEY && num[PNL_KEY][i] > 0) profitable++;
      if (num.notional && num.notional[i] === num.notional[i]) notional += num.notional[i];
    }
    $("stat-wallets").textContent = N.toLocaleString("en-US");
    $("stat-categorized").textContent = CAT ? withCat.toLocaleString("en-US") : "\u2013";
    $("stat-profitable").textContent = PNL_KEY ? profitable.toLocaleString("en-US") : "\u2013";
    $("stat-notional").textContent = num.notional ? fmtUsd(notional) : "\u2013";
    var used = counts.filter(function (c) { return c > 0; }).length;
    $("stat-categories").textContent = CAT ? String(used) : "\u2013";

    var host = $("category-counts");
    var order = counts.map(function (c, k) { return k; }).sort(function (a, b) { return counts[b] - counts[a] || a - b; });
    order.forEach(function (k) {
      if (!counts[k]) return;
      var b = el("button", "chip category-count");
      b.type = "button";
      b.setAttribute("data-cat", String(k));
      b.appendChild(document.createTextNode(catName(k) + " "));
      b.appendChild(el("span", "n", counts[k].toLocaleString("en-US")));
      b.addEventListener("click", function () {
        var sel = $("filter-category");
        sel.value = state.cat === k ? "" : String(k);
        sel.dispatchEvent(new Event("change"));
      });
      host.appendChild(b);
    });
    if (!host.firstChild) host.appendChild(el("span", "muted", CAT ? "No wallet has a category." : "Categories were not computed."));
    fillSelect($("filter-category"), D.cat, counts, !!CAT);
    fillCohort($("filter-size"), D.size, C.size);
    fillCohort($("filter-pnl"), D.pnl, C.pnlc);
    fillCohort($("filter-kir"), D.kir, C.kir);
    if (!C.wash) $("filter-wash").disabled = true;
    var anyLiq = false;
    for (var j = 0; num.liq && j < N && !anyLiq; j++) anyLiq = num.liq[j] > 0;
    if (!anyLiq) $("filter-liq").disabled = true;
  }
  function fillSelect(sel, names, counts, enabled) {
    names.forEach(function (name, k) {
      if (counts && !counts[k]) return;
      var o = el("option", null, String(name) + (counts ? " (" + counts[k].toLocaleString("en-US") + ")" : ""));
      o.value = String(k);
      sel.appendChild(o);
    });
    sel.disabled = !enabled;
  }
  function fillCohort(sel, names, col) {
    var counts = null;
    if (col) {
      counts = new Array(names.length).fill(0);
      for (var i = 0; i < N; i++) if (col[i] >= 0) counts[col[i]]++;
    }
    fillSelect(sel, names || [], counts, !!col && names.length > 0);
  }

  function flatten(obj, prefix, out) {
    if (out.length > 400) return out;
    if (obj !== null && typeof obj === "object") {
      var keys = Array.isArray(obj) ? obj.map(function (_, k) { return k; }) : Object.keys(obj);
      keys.forEach(function (k) { flatten(obj[k], prefix === "" ? String(k) : prefix + "." + k, out); });
      if (!keys.length) out.push([prefix, Array.isArray(obj) ? "[]" : "{}"]);
    } else {
      out.push([prefix, typeof obj === "number" ? fmtNum(obj, 5) : String(obj)]);
    }
    return out;
  }
  function renderModel() {
    var host = $("model-info");
    var m = P.model || {};
    host.appendChild(kv("model version", m.version ? String(m.version) : "none (no scores yet)"));
    (m.versions || []).slice(1).forEach(function (v) { host.appendChild(kv("also scored by " + v[0], v[1] + " wallets")); });
    flatten(m.info || {}, "", []).forEach(function (p) { host.appendChild(kv(p[0], p[1])); });
    if (!m.info || !Object.keys(m.info).length) host.appendChild(kv("evaluation", "not provided"));
    if (m.version) $("model-version").textContent = String(m.version);
  }

  function setupControls() {
    var keySel = $("sort-key");
    SORTS.forEach(function (s) {
      if (s[0] !== "addr" && !num[s[0]]) return;
      var o = el("option", null, s[1]);
      o.value = s[0];
      keySel.appendChild(o);
    });
    state.key = PNL_KEY || (num.prof ? "prof" : "addr");
    state.desc = state.key !== "addr";
    keySel.value = state.key;
    var dirBtn = $("sort-dir");
    function showDir() { dirBtn.textContent = state.desc ? "\u2193" : "\u2191"; dirBtn.setAttribute("data-dir", state.desc ? "desc" : "asc"); }
    showDir();
    keySel.addEventListener("change", function () { state.key = keySel.value; applyView(); });
    dirBtn.addEventListener("click", function () { state.desc = !state.desc; showDir(); applyView(); });
    var searchPending = 0;
    $("search").addEventListener("input", function () {
      cancelAnimationFrame(searchPending);
      searchPending = requestAnimationFrame(function () { state.q = normQuery($("search").value); applyView(); });
    });
    function bindSelect(id, field) {
      $(id).addEventListener("change", function () {
        state[field] = $(id).value === "" ? -1 : parseInt($(id).value, 10);
        if (field === "cat") {
          document.querySelectorAll(".category-count").forEach(function (b) {
            b.classList.toggle("active", b.getAttribute("data-cat") === String(state.cat));
          });
        }
        applyView();
      });
    }
    bindSelect("filter-category", "cat");
    bindSelect("filter-size", "size");
    bindSelect("filter-pnl", "pnl");
    bindSelect("filter-kir", "kir");
    $("filter-wash").addEventListener("change", function () { state.wash = $("filter-wash").checked; applyView(); });
    $("filter-liq").addEventListener("change", function () { state.liq = $("filter-liq").checked; applyView(); });
    $("export-csv").addEventListener("click", exportCsv);
  }

  try {
    renderSummary();
    renderModel();
    setupControls();
    applyView();
  } catch (err) {
    var banner = el("div", "error-banner", "The dashboard could not start: " + (err && err.message ? err.message : err));
    document.body.insertBefore(banner, document.body.firstChild);
    throw err;
  }
  window.__dashboard = { ready: performance.now(), wallets: N, liveCards: grid.liveCount };
  document.documentElement.setAttribute("data-ready", "1");
  if (hashWallet() !== null) onHash(); // a deep link: open that wallet once the grid is up
})();
