// phirig dashboard: polls the host API, draws the charts as SVG, sends commands with the token.
"use strict";

const COLORS = ["#4c9be8", "#4cc38a", "#d6a23a", "#c678dd", "#e5534b", "#56b6c2", "#e8894c",
                "#98c379", "#b0b8c4", "#f0c674"];
const HOUR_MS = 3600 * 1000;
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("phirig-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("phirig-token", tokenInput.value));

function headers() {
  const t = tokenInput.value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

function rate(v) {
  if (v === null || v === undefined) return "–";
  if (v >= 1e6) return (v / 1e6).toFixed(2) + " M";
  if (v >= 1e3) return (v / 1e3).toFixed(2) + " k";
  return v.toFixed(1);
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// Names come from the rig's config and miners' logins: set as text, never as markup.
function legend(id, items) {
  document.getElementById(id).replaceChildren(...items.map(([label, color]) => {
    const span = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = color;
    span.append(swatch, label);
    return span;
  }));
}

function say(text) {
  document.getElementById("message").textContent = text;
}

async function command(path, what) {
  try {
    const r = await fetch(path, { method: "POST", headers: headers() });
    const body = await r.json().catch(() => ({}));
    say(r.ok ? what + ": sent" : what + ": refused (" + r.status + " " + (body.error || "") + ")");
  } catch (e) {
    say(what + ": " + e);
  }
}

document.getElementById("pause").onclick = () => command("/v1/rig/pause", "pause");
document.getElementById("resume").onclick = () => command("/v1/rig/resume", "resume");

// One algorithm's tuned setting: threads x ways and the H/s it reached.
function tuned(best) {
  return best.threads + "×" + best.intensity + " · " + rate(best.hs) + " H/s";
}

// The card's setting for the algorithm it mines; every tuned algorithm in the tooltip.
function tunedCell(row, c) {
  const algos = c.profile ? c.profile.algos : {};
  const names = Object.keys(algos);
  const best = algos[c.algo];
  const td = cell(row, best ? tuned(best) : names.length ? names.length + " algos" : "–", "tuned");
  td.title = names.map((a) => a + "  " + tuned(algos[a])).join("\n");
}

// Algorithm x card: each card's tuned threads x ways and H/s, as `phirig bench --all` prints.
function renderProfiles(cards) {
  const tunedCards = cards.filter((c) => c.profile && Object.keys(c.profile.algos).length > 0);
  document.getElementById("profiles-section").hidden = tunedCards.length === 0;
  const head = document.querySelector("#profiles thead tr");
  head.replaceChildren();
  for (const label of ["algorithm", ...tunedCards.map((c) => c.name)]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.appendChild(th);
  }
  const algos = [...new Set(tunedCards.flatMap((c) => Object.keys(c.profile.algos)))].sort();
  const body = document.querySelector("#profiles tbody");
  body.replaceChildren();
  for (const a of algos) {
    const row = body.insertRow();
    row.dataset.algo = a;
    cell(row, a);
    for (const c of tunedCards) {
      const best = c.profile.algos[a];
      cell(row, best ? tuned(best) : "–");
    }
  }
}

function renderRig(rig) {
  const t = rig.total;
  document.getElementById("total").textContent = t.hashrate.map(rate).join(" / ");
  document.getElementById("estimated").textContent = t.workers > 0
    ? "incl. ~" + rate(t.estimated[1]) + " H/s estimated from " + t.workers + " other miner(s)" : "";
  document.getElementById("mining").textContent = t.cards_mining + " / " + t.cards;
  const up = rig.upstream;
  document.getElementById("pool").textContent = up
    ? (up.pool || "no pool") + (up.connected ? " · connected" : " · disconnected") : "no proxy";
  document.getElementById("algo").textContent = (rig.algo || "") +
    (up && up.rtt_ms ? " · rtt " + up.rtt_ms.median.toFixed(1) + " ms" : "");

  const tbody = document.querySelector("#cards tbody");
  tbody.replaceChildren();
  for (const c of rig.cards) {
    const row = tbody.insertRow();
    row.dataset.card = c.name;
    cell(row, c.name);
    // The host decides the state (flagged beats everything); an unreachable card says why.
    cell(row, c.state === "unreachable" ? c.status : c.state, "state-" + c.state);
    c.hashrate.forEach((r) => cell(row, rate(r)));
    const p = c.proxy;
    cell(row, p ? p.accepted : c.shares.accepted);
    cell(row, p ? p.rejected : c.shares.rejected);
    cell(row, p ? p.stale : c.shares.stale);
    cell(row, p ? p.invalid : "–");
    cell(row, c.hugepages[0] + "/" + c.hugepages[1]);
    cell(row, c.aes || "–");
    cell(row, c.algo || "–");
    tunedCell(row, c);
    cell(row, c.temperature_c === null ? "–" : c.temperature_c.toFixed(0) + " °C");
    cell(row, c.clock ? (c.clock.offset_ns / 1e6).toFixed(2) + " ± " + (c.clock.bound_ns / 1e6).toFixed(2) + " ms" : "–");
    const button = document.createElement("button");
    button.textContent = "Restart";
    button.className = "restart";
    button.onclick = () => command("/v1/cards/" + encodeURIComponent(c.name) + "/restart", "restart " + c.name);
    row.insertCell().appendChild(button);
  }

  renderProfiles(rig.cards);

  const others = (rig.workers || []).filter((w) => !w.card);
  document.getElementById("others-section").hidden = others.length === 0;
  const obody = document.querySelector("#others tbody");
  obody.replaceChildren();
  for (const w of others) {
    const row = obody.insertRow();
    cell(row, w.name);
    cell(row, w.ip);
    cell(row, w.connections);
    cell(row, "~" + rate(w.hashrate_estimated[1]));
    cell(row, "~" + rate(w.hashrate_estimated[2]));
    cell(row, w.accepted);
    cell(row, w.rejected);
    cell(row, w.invalid);
    cell(row, w.last_share_ms ? new Date(w.last_share_ms).toLocaleTimeString() : "–");
  }

  const s = up ? up.shares : t.shares;
  const parts = [["accepted", s.accepted, "#4cc38a"], ["rejected", s.rejected, "#e5534b"],
                 ["stale", s.stale, "#d6a23a"], ["in flight", s.in_flight, "#4c9be8"]];
  const sum = parts.reduce((a, p) => a + p[1], 0) || 1;
  const bar = document.getElementById("sharebar");
  bar.replaceChildren(...parts.map(([, n, color]) => {
    const d = document.createElement("div");
    d.style.width = (100 * n / sum) + "%";
    d.style.background = color;
    return d;
  }));
  legend("shares", parts.map(([name, n, color]) => [name + " " + n, color]));
}

const SVG = "http://www.w3.org/2000/svg";

function renderChart(history) {
  const svg = document.getElementById("chart");
  svg.replaceChildren();
  const points = history.points;
  if (points.length === 0) return;
  const end = points[points.length - 1].t_ms;
  const recent = points.filter((p) => p.t_ms >= end - HOUR_MS);
  const series = [{ name: "rig", values: recent.map((p) => p.total), color: "#ffffff" }];
  history.cards.forEach((name, i) => series.push({
    name, values: recent.map((p) => p.cards[i] ?? null), color: COLORS[i % COLORS.length] }));
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null))) * 1.1;
  // A young rig fills the width; after an hour the axis is the last hour.
  const span = Math.min(HOUR_MS, Math.max(60 * 1000, end - recent[0].t_ms));
  const x = (t) => 1000 * (1 - (end - t) / span);
  const y = (v) => 250 - 240 * v / max;
  for (let i = 0; i <= 4; i++) {
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("x1", 0); line.setAttribute("x2", 1000);
    line.setAttribute("y1", y(max * i / 4)); line.setAttribute("y2", y(max * i / 4));
    line.setAttribute("stroke", "#26313d");
    svg.appendChild(line);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", 4); label.setAttribute("y", y(max * i / 4) - 2);
    label.setAttribute("fill", "#8a96a3"); label.setAttribute("font-size", 11);
    label.textContent = rate(max * i / 4) + " H/s";
    svg.appendChild(label);
  }
  for (const s of series) {
    const coords = [];
    s.values.forEach((v, i) => {
      if (v !== null) coords.push(x(recent[i].t_ms).toFixed(1) + "," + y(v).toFixed(1));
    });
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", coords.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", s.color);
    line.setAttribute("stroke-width", s.name === "rig" ? 2 : 1.5);
    line.setAttribute("vector-effect", "non-scaling-stroke");
    line.classList.add("series");
    line.dataset.name = s.name;
    line.dataset.points = coords.length;
    svg.appendChild(line);
  }
  legend("legend", series.map((s) => [s.name, s.color]));
}

async function poll() {
  try {
    const [rig, history] = await Promise.all([
      fetch("/v1/rig", { headers: headers() }), fetch("/v1/history", { headers: headers() })]);
    if (rig.status === 401 || rig.status === 403) {
      say("reads need the access token");
    } else {
      renderRig(await rig.json());
      renderChart(await history.json());
    }
  } catch (e) {
    say("host unreachable: " + e);
  }
  setTimeout(poll, 2000);
}
poll();
