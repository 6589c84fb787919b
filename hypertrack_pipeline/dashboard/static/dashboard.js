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
    function schedule() { if (!pending && vs.view === "wallets") { pending = true; requestAnimationFrame(render); } }
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

  // ---------- the URL fragment: #view=…&period=…&coin=…&wallet=0x… ----------
  // The wallets view is the default (no view parameter), so #wallet=0x… alone still opens a wallet.
  var VIEWS = ["wallets", "leaderboards", "positioning", "holders"];
  var VIEW_PARAMS = { leaderboards: ["period", "metric"], positioning: ["coin", "kind", "range"], holders: ["coin"] };
  var vs = { view: "wallets", period: null, metric: null, coin: null, kind: null, range: null };
  function hashParams() {
    var out = {}, h = (location.hash || "").replace(/^#/, "");
    if (!h) return out;
    h.split("&").forEach(function (part) {
      var k = part.indexOf("=");
      if (k <= 0) return;
      var name = part.slice(0, k), val = part.slice(k + 1);
      try { val = decodeURIComponent(val); } catch (e) { /* keep it as typed */ }
      if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = val;
    });
    return out;
  }
  function stateHash(view, wallet) {
    var parts = [];
    if (view !== "wallets") {
      parts.push("view=" + view);
      (VIEW_PARAMS[view] || []).forEach(function (k) { if (vs[k] !== null) parts.push(k + "=" + encodeURIComponent(vs[k])); });
    }
    if (wallet !== null && wallet !== undefined) parts.push("wallet=" + encodeURIComponent(wallet));
    return parts.join("&");
  }
  function go(hash, replace) {
    // a new fragment: pushed (tabs) or replaced (a view's own controls), then applied
    if ((location.hash || "").replace(/^#/, "") !== hash) {
      var url = location.pathname + location.search + (hash ? "#" + hash : "");
      try { history[replace ? "replaceState" : "pushState"](null, "", url); } catch (e) { location.hash = hash; return; }
    }
    onHash();
  }
  function hashWallet() {
    var p = hashParams();
    return Object.prototype.hasOwnProperty.call(p, "wallet") ? p.wallet : null;
  }
  function clearHash() {
    var h = stateHash(vs.view, null);
    try { history.pushState(null, "", location.pathname + location.search + (h ? "#" + h : "")); } catch (e) { location.hash = h; }
  }
  function onHash() {
    var p = hashParams();
    var view = VIEWS.indexOf(p.view) >= 0 ? p.view : p.view === undefined && p.wallet !== undefined ? vs.view : "wallets";
    ["period", "metric", "coin", "kind", "range"].forEach(function (k) { if (p[k] !== undefined) vs[k] = p[k]; });
    showView(view);
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
        location.hash = stateHash(vs.view, addr);
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

  // ---------- trader views: leaderboards, positioning, holders (tabs) ----------
  // Each is drawn when its tab is shown (never during first render) and again only when its controls
  // change. Wallet refs: w >= 0 is a dashboard wallet (cols.addr), w < 0 is xaddr[-1 - w].
  var XADDR = P.xaddr || [];
  var LB = P.leaderboards || null, PS = P.positioning || null, HD = P.holders || null;
  var drawn = {};
  var COHORT_COLORS = ["#60a5fa", "#34d399", "#fbbf24", "#f472b6", "#a78bfa", "#22d3ee", "#fb923c", "#f87171",
    "#a3e635", "#e879f9", "#94a3b8", "#2dd4bf"];
  var METRIC_NAMES = { pnl: "Net PnL", volume: "Volume", roi: "ROI" };
  var PERIOD_NAMES = { "24h": "24 h", "7d": "7 days", "30d": "30 days", all: "All time" };
  var KIND_NAMES = { size: "Size cohorts", pnl: "PnL cohorts" };
  var SECTION = (P.sections || {});

  function walletOf(ref) {
    if (!isNum(ref)) return null;
    if (ref >= 0) return ref < N ? String(ADDR[ref]) : null;
    return -1 - ref < XADDR.length ? String(XADDR[-1 - ref]) : null;
  }
  // skill confidence of a row's wallet (the grid's per-wallet column), shown next to every ranking
  function skillOf(ref) { return num.skill && isNum(ref) && ref >= 0 && ref < N ? num.skill[ref] : NaN; }
  function skillCell(tr, ref) {
    var v = skillOf(ref);
    var c = cell(tr, "skill" + (v >= 0.9 ? " pos" : ""), isNum(v) ? fmtPct(v) : "\u2013", v);
    c.title = "P(edge > 0): confidence that the wallet's 15 min mark-outs are positive";
  }
  function walletLink(addr) {
    var a = el("a", "addr mono wallet-link", shortAddr(addr));
    a.setAttribute("href", "#" + stateHash(vs.view, addr));
    a.setAttribute("title", addr);
    return a;
  }
  function walletRow(tr, addr) {
    // the address is a link (keyboard: Tab + Enter); a click anywhere else on the row opens it too
    tr.className = "clickable";
    tr.setAttribute("data-wallet", addr);
    tr.addEventListener("click", function (ev) {
      if (ev.target && ev.target.closest && ev.target.closest("a")) return;
      location.hash = stateHash(vs.view, addr);
    });
  }
  function cell(tr, cls, text, value) {
    var c = el("td", cls, text);
    if (value !== undefined) c.setAttribute("data-v", isNum(value) ? String(value) : "");
    tr.appendChild(c);
    return c;
  }
  function headRow(tbl, names) {
    var thead = el("thead"), tr = el("tr");
    names.forEach(function (h) {
      // a left-aligned (text) column is named with a trailing "<"
      var left = h.charAt(h.length - 1) === "<", th = el("th", left ? "l" : null, left ? h.slice(0, -1) : h);
      th.setAttribute("scope", "col");
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var body = el("tbody");
    tbl.appendChild(body);
    return body;
  }
  function viewMessage(cls, title, text) {
    var box = el("div", "view-message " + cls);
    box.appendChild(el("h2", null, title));
    box.appendChild(el("p", "muted", text));
    return box;
  }
  function missingView(title, table) {
    return viewMessage("view-missing", title + " are not in this dashboard",
      "The warehouse it was built from has no " + table + " table (it predates the trader views). " +
      "Run the pipeline again (hypertrack materialize) to add it and rebuild this dashboard.");
  }
  function viewHead(title, note) {
    var head = el("div", "view-head");
    head.appendChild(el("h2", null, title));
    if (note) head.appendChild(el("p", "note", note));
    return head;
  }
  function segmented(label, name, options, current, names, onPick) {
    var g = el("div", "seg");
    g.setAttribute("role", "group");
    g.setAttribute("aria-label", label);
    g.appendChild(el("span", "seg-label", label));
    options.forEach(function (o) {
      var on = o === current;
      var b = el("button", "btn small seg-btn" + (on ? " active" : ""), names[o] || o);
      b.type = "button";
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.setAttribute("data-value", o);
      b.setAttribute("data-focus", name + ":" + o);
      b.addEventListener("click", function () { if (!on) onPick(o); });
      g.appendChild(b);
    });
    return g;
  }
  function coinSelect(id, coins, oi, current, onPick) {
    var wrap = el("label", "coin-pick");
    wrap.appendChild(el("span", "seg-label", "Coin"));
    var sel = el("select");
    sel.id = id;
    sel.setAttribute("data-focus", id);
    coins.forEach(function (c, k) {
      var o = el("option", null, String(c) + (oi && isNum(oi[k]) ? " \u00b7 OI " + fmtUsd(oi[k]) : ""));
      o.value = String(c);
      sel.appendChild(o);
    });
    sel.value = String(current);
    sel.addEventListener("change", function () { onPick(sel.value); });
    wrap.appendChild(sel);
    return wrap;
  }
  function pickCoin(coins) { return coins.indexOf(vs.coin) >= 0 ? vs.coin : coins[0]; }
  function setAndGo(key, value) { vs[key] = value; go(stateHash(vs.view, null), true); }
  function dictAt(dict, k) { return dict && k >= 0 && k < dict.length ? String(dict[k]) : null; }
  function fmtShare(v) { return isNum(v) ? (v * 100).toFixed(v < 0.001 ? 3 : 1) + "%" : "\u2013"; }
  function fmtRoi(v) { return isNum(v) ? (v > 0 ? "+" : "") + (v * 100).toFixed(1) + "%" : "\u2013"; }

  function showView(view) {
    var prev = vs.view;
    vs.view = view;
    VIEWS.forEach(function (v) {
      var on = v === view, tab = $("tab-" + v);
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      $("view-" + v).hidden = !on;
    });
    document.documentElement.setAttribute("data-view", view);
    if (view === "wallets") {
      if (prev !== "wallets") grid.reset();
      return;
    }
    var key = JSON.stringify([vs.period, vs.metric, vs.coin, vs.kind, vs.range]);
    if (drawn[view] === key) return;
    var host = $("view-" + view);
    var focused = document.activeElement && host.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-focus") : null;
    host.replaceChildren(VIEW_RENDER[view]());
    drawn[view] = key;
    if (focused) {
      var again = host.querySelector("[data-focus=\"" + (window.CSS && CSS.escape ? CSS.escape(focused) : focused) + "\"]");
      if (again) again.focus();
    }
  }

  function setupTabs() {
    var tabs = VIEWS.map(function (v) { return $("tab-" + v); });
    tabs.forEach(function (tab, k) {
      tab.addEventListener("click", function () { go(stateHash(VIEWS[k], null), false); });
      tab.addEventListener("keydown", function (ev) {
        var to = ev.key === "ArrowRight" ? (k + 1) % tabs.length : ev.key === "ArrowLeft" ? (k + tabs.length - 1) % tabs.length
          : ev.key === "Home" ? 0 : ev.key === "End" ? tabs.length - 1 : -1;
        if (to < 0) return;
        ev.preventDefault();
        tabs[to].focus();
        go(stateHash(VIEWS[to], null), false);
      });
    });
  }

  // Leaderboards: top `limit` per window by net PnL, volume or (when the warehouse has it) ROI.
  function renderLeaderboards() {
    if (!SECTION.leaderboards || !LB) return missingView("Leaderboards", "leaderboards");
    var box = el("div", "trader-view leaderboards");
    var periods = LB.periods || [], metrics = LB.metrics || ["pnl", "volume"], lc = LB.cols || {};
    if (periods.indexOf(vs.period) < 0) vs.period = periods.length ? periods[0] : null;
    if (metrics.indexOf(vs.metric) < 0) vs.metric = "pnl";
    var limit = LB.limit | 0;
    box.appendChild(viewHead("Leaderboards", "The top " + limit + " wallets of each window, by net PnL (after fees), " +
      "volume" + (metrics.indexOf("roi") >= 0 ? " or ROI" : "") + ". Windows end at the newest hour in the warehouse."));
    var bar = el("div", "view-controls");
    bar.appendChild(segmented("Window", "period", periods, vs.period, PERIOD_NAMES, function (p) { setAndGo("period", p); }));
    bar.appendChild(segmented("Rank by", "metric", metrics, vs.metric, METRIC_NAMES, function (m) { setAndGo("metric", m); }));
    box.appendChild(bar);
    if (!periods.length || !(LB.rows > 0)) {
      box.appendChild(viewMessage("view-empty", "No leaderboard yet", "The leaderboards table is empty: no wallet has PnL or fills yet."));
      return box;
    }
    var pi = periods.indexOf(vs.period);
    var rankCol = vs.metric === "volume" ? lc.vr : vs.metric === "roi" ? lc.rr : lc.pr;
    var rows = [];
    for (var r = 0; r < (lc.p || []).length; r++) {
      var rk = rankCol ? rankCol[r] : 0;
      if (lc.p[r] === pi && rk >= 1 && rk <= limit) rows.push(r);
    }
    rows.sort(function (a, b) { return rankCol[a] - rankCol[b]; });
    if (!rows.length) {
      box.appendChild(viewMessage("view-empty", "Nobody in this window", vs.metric === "roi"
        ? "No wallet of the " + (PERIOD_NAMES[vs.period] || vs.period) + " window has an ROI (it needs the wallet's account equity)."
        : "No wallet traded or changed its PnL in the " + (PERIOD_NAMES[vs.period] || vs.period) + " window."));
      return box;
    }
    var hasRoi = !!lc.roi, hasFills = !!lc.fills;
    var cols = ["#", "Address<", "Net PnL", "Volume"];
    if (hasFills) cols.push("Fills");
    if (hasRoi) cols.push("ROI");
    if (num.skill) cols.push("Skill");
    cols.push("Category<", "Size cohort<");
    var tbl = el("table", "data trader-table lb-table");
    tbl.setAttribute("data-period", vs.period);
    tbl.setAttribute("data-metric", vs.metric);
    var body = headRow(tbl, cols);
    var D2 = LB.dicts || { cat: [], size: [] };
    rows.forEach(function (r) {
      var addr = walletOf(lc.w[r]);
      var tr = el("tr");
      cell(tr, "rank", String(rankCol[r]));
      var a = cell(tr, "who");
      if (addr !== null) { a.appendChild(walletLink(addr)); walletRow(tr, addr); } else a.textContent = "\u2013";
      var npnl = lc.npnl[r];
      var pc = cell(tr, "npnl " + signClass(npnl), fmtSigned(npnl), npnl);
      if (lc.pnl && lc.fees) pc.title = "PnL " + fmtSigned(lc.pnl[r]) + " \u2212 fees " + fmtUsd(lc.fees[r]);
      cell(tr, "vol", fmtUsd(lc.vol[r]), lc.vol[r]);
      if (hasFills) cell(tr, "fills", isNum(lc.fills[r]) ? lc.fills[r].toLocaleString("en-US") : "\u2013", lc.fills[r]);
      if (hasRoi) cell(tr, "roi " + signClass(lc.roi[r]), fmtRoi(lc.roi[r]), lc.roi[r]);
      if (num.skill) skillCell(tr, lc.w[r]);
      var cc = cell(tr, "cats");
      var prim = dictAt(D2.cat, lc.prim ? lc.prim[r] : -1);
      var names = ((lc.cats && lc.cats[r]) || []).map(function (k) { return dictAt(D2.cat, k); }).filter(function (x) { return x !== null; });
      if (prim === null && names.length) prim = names[0];
      cc.appendChild(el("span", "prim", prim === null ? "\u2013" : prim));
      var others = names.filter(function (x) { return x !== prim; });
      if (others.length) {
        var more = el("span", "more", " +" + others.length);
        more.title = names.join(", ");
        cc.appendChild(more);
      }
      cc.setAttribute("data-categories", JSON.stringify(names));
      cell(tr, "cohort", dictAt(D2.size, lc.size ? lc.size[r] : -1) || "\u2013");
      body.appendChild(tr);
    });
    var wrap = el("div", "table-wide");
    wrap.appendChild(tbl);
    box.appendChild(wrap);
    return box;
  }

  // Positioning: long vs short notional per cohort over time for one coin (stacked bars, longs above
  // zero, shorts below), and the latest hour as a table.
  function renderPositioning() {
    if (!SECTION.positioning || !PS) return missingView("Positioning charts", "coin_positioning");
    var box = el("div", "trader-view positioning");
    var coins = PS.coins || [], kinds = PS.kinds || [];
    box.appendChild(viewHead("Positioning by cohort", "Long and short notional of each cohort in a coin, hour by hour " +
      "(positions as of the hour's end, at its last mid). Cohorts are the wallets' current ones."));
    var ranges = PS.ranges || [];
    if (!coins.length || !kinds.length || !ranges.length) {
      box.appendChild(viewMessage("view-empty", "No positions yet", "The coin_positioning table is empty: no wallet holds a position yet."));
      return box;
    }
    var coin = pickCoin(coins), ci = coins.indexOf(coin);
    if (kinds.indexOf(vs.kind) < 0) vs.kind = kinds[0];
    var ki = kinds.indexOf(vs.kind);
    var rg = ranges[0];
    ranges.forEach(function (x) { if (x.name === vs.range) rg = x; });
    var rangeNames = {};
    ranges.forEach(function (x) {
      var span = x.points * x.step;
      rangeNames[x.name] = x.name === "recent" ? "Last " + (span >= 48 ? Math.round(span / 24) + " days" : span + " h") + ", hourly"
        : "All " + Math.round(span / 24) + " days, every " + x.step + " h";
    });
    var bar = el("div", "view-controls");
    bar.appendChild(coinSelect("positioning-coin", coins, PS.oi, coin, function (c) { setAndGo("coin", c); }));
    bar.appendChild(segmented("Cohorts", "kind", kinds, vs.kind, KIND_NAMES, function (k) { setAndGo("kind", k); }));
    if (ranges.length > 1) {
      bar.appendChild(segmented("Range", "range", ranges.map(function (x) { return x.name; }), rg.name, rangeNames,
        function (v) { setAndGo("range", v); }));
    }
    if (PS.total_coins > coins.length) {
      bar.appendChild(el("span", "note", "the " + coins.length + " coins with the largest open interest of " + PS.total_coins));
    }
    box.appendChild(bar);
    var S = PS.series, series = [];
    for (var s = 0; s < S.coin.length; s++) if (S.coin[s] === ci && S.kind[s] === ki) series.push(s);
    var latest = [], L = PS.latest;
    for (var r = 0; r < L.coin.length; r++) if (L.coin[r] === ci && L.kind[r] === ki) latest.push(r);
    if (!series.length && !latest.length) {
      box.appendChild(viewMessage("view-empty", "Nobody holds " + coin, "No " + (KIND_NAMES[vs.kind] || vs.kind).toLowerCase() +
        " position in " + coin + " over these hours."));
      return box;
    }
    // one color per cohort, by its place on the ladder among the cohorts of this kind (the same in every coin)
    var used = [], ofKind = [];
    series.forEach(function (x) { if (used.indexOf(S.cohort[x]) < 0) used.push(S.cohort[x]); });
    latest.forEach(function (x) { if (used.indexOf(L.cohort[x]) < 0) used.push(L.cohort[x]); });
    for (var q = 0; q < S.kind.length; q++) if (S.kind[q] === ki && ofKind.indexOf(S.cohort[q]) < 0) ofKind.push(S.cohort[q]);
    for (var q2 = 0; q2 < L.kind.length; q2++) if (L.kind[q2] === ki && ofKind.indexOf(L.cohort[q2]) < 0) ofKind.push(L.cohort[q2]);
    used.sort(function (a, b) { return a - b; });
    ofKind.sort(function (a, b) { return a - b; });
    var color = function (c) { return COHORT_COLORS[ofKind.indexOf(c) % COHORT_COLORS.length]; };
    var chart = el("div", "chart pos-chart");
    chart.appendChild(positioningChart(coin, rg, series, color));
    box.appendChild(chart);
    var legend = el("div", "legend");
    used.slice().reverse().forEach(function (c) {
      var item = el("span", "legend-item");
      var sw = el("span", "swatch");
      sw.style.background = color(c);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(dictAt(PS.cohorts, c) || "?"));
      legend.appendChild(item);
    });
    legend.appendChild(el("span", "note", "longs above zero, shorts below (lighter); the line is net (long \u2212 short)"));
    box.appendChild(legend);
    box.appendChild(el("p", "pos-readout note", "Hover the chart for an hour's values."));

    var mark = PS.mark ? PS.mark[ci] : null;
    var sec = el("section", "pos-latest");
    sec.appendChild(el("h3", null, "Latest hour, " + fmtHour(PS.last) + (isNum(mark) ? " \u00b7 mark " + fmtNum(mark, 6) : "")));
    var tbl = el("table", "data trader-table pos-table");
    var body = headRow(tbl, ["Cohort", "Long", "Short", "Net", "Wallets long / short"]);
    var tl = 0, ts = 0, twl = 0, tws = 0;
    latest.sort(function (a, b) { return L.cohort[b] - L.cohort[a]; });
    latest.forEach(function (x) {
      var tr = el("tr");
      tr.setAttribute("data-cohort", dictAt(PS.cohorts, L.cohort[x]) || "");
      var name = cell(tr, "cohort");
      var sw = el("span", "swatch");
      sw.style.background = color(L.cohort[x]);
      name.appendChild(sw);
      name.appendChild(document.createTextNode(dictAt(PS.cohorts, L.cohort[x]) || "?"));
      var net = L.long[x] - L.short[x];
      cell(tr, "long", fmtUsd(L.long[x]), L.long[x]);
      cell(tr, "short", fmtUsd(L.short[x]), L.short[x]);
      cell(tr, "net " + signClass(net), fmtSigned(net), net);
      cell(tr, "wallets", L.lw[x].toLocaleString("en-US") + " / " + L.sw[x].toLocaleString("en-US"));
      tl += L.long[x]; ts += L.short[x]; twl += L.lw[x]; tws += L.sw[x];
      body.appendChild(tr);
    });
    var tot = el("tr", "total");
    cell(tot, "cohort", "All cohorts");
    cell(tot, "long", fmtUsd(tl), tl);
    cell(tot, "short", fmtUsd(ts), ts);
    cell(tot, "net " + signClass(tl - ts), fmtSigned(tl - ts), tl - ts);
    cell(tot, "wallets", twl.toLocaleString("en-US") + " / " + tws.toLocaleString("en-US"));
    body.appendChild(tot);
    sec.appendChild(tbl);
    box.appendChild(sec);
    return box;
  }

  function positioningChart(coin, rg, series, color) {
    var W = 900, H = 320, Lm = 70, R = 12, T = 12, B = 28;
    var n = rg.points | 0, S = PS.series, SL = rg.long, SS = rg.short;
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", class: "positioning-chart",
      "aria-label": "Long and short notional per cohort in " + coin + " over " + n + " points" });
    s.setAttribute("data-points", String(n));
    s.setAttribute("data-step", String(rg.step));
    var up = new Float64Array(n), dn = new Float64Array(n);
    series.forEach(function (x) { for (var j = 0; j < n; j++) { up[j] += SL[x][j] || 0; dn[j] += SS[x][j] || 0; } });
    var vmax = 0, vmin = 0;
    for (var j = 0; j < n; j++) { if (up[j] > vmax) vmax = up[j]; if (-dn[j] < vmin) vmin = -dn[j]; }
    if (vmax === 0 && vmin === 0) { vmax = 1; vmin = -1; }
    var slot = (W - Lm - R) / Math.max(1, n), bw = Math.max(1, slot * 0.82);
    var x = function (k) { return Lm + k * slot + (slot - bw) / 2; };
    var y = function (v) { return T + (vmax - v) / (vmax - vmin) * (H - T - B); };
    var baseUp = new Float64Array(n), baseDn = new Float64Array(n);
    var bars = svg("g", { class: "bars" });
    // stack in ladder order from zero outwards
    series.slice().sort(function (a, b) { return S.cohort[a] - S.cohort[b]; }).forEach(function (x2) {
      var c = color(S.cohort[x2]);
      for (var k = 0; k < n; k++) {
        var lv = SL[x2][k] || 0, sv = SS[x2][k] || 0;
        if (lv > 0) {
          var rl = svg("rect", { x: x(k).toFixed(1), y: y(baseUp[k] + lv).toFixed(1), width: bw.toFixed(1),
            height: Math.max(0.5, y(baseUp[k]) - y(baseUp[k] + lv)).toFixed(1) });
          rl.style.fill = c;
          bars.appendChild(rl);
          baseUp[k] += lv;
        }
        if (sv > 0) {
          var rs = svg("rect", { x: x(k).toFixed(1), y: y(-baseDn[k]).toFixed(1), width: bw.toFixed(1),
            height: Math.max(0.5, y(-baseDn[k] - sv) - y(-baseDn[k])).toFixed(1), opacity: 0.5 });
          rs.style.fill = c;
          bars.appendChild(rs);
          baseDn[k] += sv;
        }
      }
    });
    s.appendChild(bars);
    s.appendChild(svg("line", { x1: Lm, x2: W - R, y1: y(0), y2: y(0), stroke: "#8b96ab", "stroke-width": 1 }));
    var pts = [];
    for (var k2 = 0; k2 < n; k2++) pts.push((x(k2) + bw / 2).toFixed(1) + "," + y(up[k2] - dn[k2]).toFixed(1));
    if (n > 1) s.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: "#e5e9f0", "stroke-width": 1.5, class: "net-line" }));
    function label(xv, yv, text, anchor) {
      var t = svg("text", { x: xv, y: yv, "font-size": 10, fill: "#8b96ab", "text-anchor": anchor || "start" });
      t.textContent = text;
      s.appendChild(t);
    }
    label(Lm - 6, y(vmax) + 4, fmtUsd(vmax), "end");
    label(Lm - 6, y(0) + 4, "$0", "end");
    if (vmin < 0) label(Lm - 6, y(vmin) + 4, fmtUsd(vmin), "end");
    label(Lm + 4, T + 10, "\u25B2 long", "start");
    label(Lm + 4, H - B - 4, "\u25BC short", "start");
    var hourOf = function (k) { return rg.t0 + k * rg.step; };
    label(Lm, H - 8, fmtHour(hourOf(0)), "start");
    if (n > 1) label(W - R, H - 8, fmtHour(hourOf(n - 1)), "end");
    // hover targets: one column per point, with a native tooltip and a readout under the chart
    var hover = svg("g", { class: "hover" });
    var guide = svg("rect", { x: 0, y: T, width: Math.max(1, slot), height: H - T - B, fill: "#ffffff", opacity: 0, "pointer-events": "none" });
    s.appendChild(guide);
    var ordered = series.slice().sort(function (a, b) { return S.cohort[b] - S.cohort[a]; });
    function describe(k) {
      var lines = [fmtHour(hourOf(k)) + " \u00b7 long " + fmtUsd(up[k]) + " \u00b7 short " + fmtUsd(dn[k]) + " \u00b7 net " + fmtSigned(up[k] - dn[k])];
      ordered.forEach(function (x3) {
        var lv = SL[x3][k] || 0, sv = SS[x3][k] || 0;
        if (lv || sv) lines.push((dictAt(PS.cohorts, S.cohort[x3]) || "?") + ": long " + fmtUsd(lv) + ", short " + fmtUsd(sv));
      });
      return lines;
    }
    for (var k3 = 0; k3 < n; k3++) {
      var col = svg("rect", { x: (Lm + k3 * slot).toFixed(1), y: T, width: Math.max(1, slot).toFixed(2), height: H - T - B, fill: "transparent", class: "col" });
      col.setAttribute("data-hour", String(hourOf(k3)));
      col.setAttribute("data-k", String(k3));
      var title = svg("title", {});
      title.textContent = describe(k3).join("\n");
      col.appendChild(title);
      hover.appendChild(col);
    }
    hover.addEventListener("mouseover", function (ev) {
      var t = ev.target;
      if (!t || !t.getAttribute || t.getAttribute("class") !== "col") return;
      var k = Number(t.getAttribute("data-k"));
      guide.setAttribute("x", t.getAttribute("x"));
      guide.setAttribute("opacity", "0.08");
      var out = s.parentNode && s.parentNode.parentNode ? s.parentNode.parentNode.querySelector(".pos-readout") : null;
      if (out) out.textContent = describe(k).join(" \u00b7 ");
    });
    hover.addEventListener("mouseleave", function () { guide.setAttribute("opacity", "0"); });
    s.appendChild(hover);
    return s;
  }

  // Holders: the largest open positions in one coin.
  function renderHolders() {
    if (!SECTION.holders || !HD) return missingView("Holders", "coin_holders");
    var box = el("div", "trader-view holders");
    var coins = HD.coins || [], hc = HD.cols || {};
    box.appendChild(viewHead("Who holds this coin", "The largest open positions in a coin, now: entry, unrealized PnL, " +
      "share of the coin's open interest and the wallet's category."));
    if (!coins.length) {
      box.appendChild(viewMessage("view-empty", "No open positions", "The coin_holders table is empty: no wallet holds a position now."));
      return box;
    }
    var coin = pickCoin(coins), ci = coins.indexOf(coin);
    var bar = el("div", "view-controls");
    bar.appendChild(coinSelect("holders-coin", coins, HD.oi, coin, function (c) { setAndGo("coin", c); }));
    if (HD.total_coins > coins.length) {
      bar.appendChild(el("span", "note", "the " + coins.length + " coins with the largest open interest of " + HD.total_coins));
    }
    box.appendChild(bar);
    var rows = [];
    for (var r = 0; r < hc.coin.length; r++) if (hc.coin[r] === ci) rows.push(r);
    var lsum = 0, ssum = 0, ln = 0, sn = 0;
    rows.forEach(function (x) { if (hc.side[x] === 1) { ssum += hc.notional[x] || 0; sn++; } else { lsum += hc.notional[x] || 0; ln++; } });
    var oi = HD.oi ? HD.oi[ci] : NaN;
    box.appendChild(el("p", "holders-summary", coin + ": open interest " + fmtUsd(oi) + " \u00b7 these " + rows.length +
      " positions: " + ln + " long " + fmtUsd(lsum) + ", " + sn + " short " + fmtUsd(ssum)));
    var hasLiq = !!hc.liq_px || !!hc.liq_dist;
    var cols = ["#", "Address<", "Side<", "Size", "Notional", "Entry", "Mark", "Unrealized PnL", "Share of OI"];
    if (hc.liq_px) cols.push("Liq. price");
    if (hc.liq_dist) cols.push("Liq. distance");
    if (num.skill) cols.push("Skill");
    cols.push("Category<", "Size cohort<");
    var tbl = el("table", "data trader-table holders-table");
    tbl.setAttribute("data-coin", coin);
    var body = headRow(tbl, cols);
    var D3 = HD.dicts || { cat: [], size: [] };
    rows.forEach(function (x) {
      var addr = walletOf(hc.w[x]);
      var tr = el("tr");
      cell(tr, "rank", String(hc.rank[x]));
      var a = cell(tr, "who");
      if (addr !== null) { a.appendChild(walletLink(addr)); walletRow(tr, addr); } else a.textContent = "\u2013";
      var short = hc.side[x] === 1;
      cell(tr, "side " + (short ? "neg" : "pos"), short ? "Short" : "Long");
      cell(tr, "size", fmtNum(hc.size[x], 6), hc.size[x]);
      cell(tr, "notional", fmtUsd(hc.notional[x]), hc.notional[x]);
      cell(tr, "entry", fmtNum(hc.entry[x], 6), hc.entry[x]);
      cell(tr, "mark", fmtNum(hc.mark[x], 6), hc.mark[x]);
      cell(tr, "upnl " + signClass(hc.upnl[x]), fmtSigned(hc.upnl[x]), hc.upnl[x]);
      cell(tr, "share", fmtShare(hc.share[x]), hc.share[x]);
      if (hc.liq_px) cell(tr, "liq-px", fmtNum(hc.liq_px[x], 6), hc.liq_px[x]);
      if (hc.liq_dist) cell(tr, "liq-dist", isNum(hc.liq_dist[x]) ? (hc.liq_dist[x] * 100).toFixed(1) + "%" : "\u2013", hc.liq_dist[x]);
      if (num.skill) skillCell(tr, hc.w[x]);
      cell(tr, "cats", dictAt(D3.cat, hc.prim ? hc.prim[x] : -1) || "\u2013");
      cell(tr, "cohort", dictAt(D3.size, hc.size_c ? hc.size_c[x] : -1) || "\u2013");
      body.appendChild(tr);
    });
    if (hasLiq) tbl.classList.add("with-liq");
    var wrap = el("div", "table-wide");
    wrap.appendChild(tbl);
    box.appendChild(wrap);
    return box;
  }
  var VIEW_RENDER = { leaderboards: renderLeaderboards, positioning: renderPositioning, holders: renderHolders };

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
  setupTabs();
  if (location.hash) onHash(); // a deep link: that view, and that wallet once the grid is up
  window.__dashboard = { ready: performance.now(), wallets: N, liveCards: grid.liveCount };
  document.documentElement.setAttribute("data-ready", "1");
})();
