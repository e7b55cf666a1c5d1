// The leader-jobs dashboard: polls `api/status` every second and draws locks, jobs, their latest
// runs and a timeline of the last minutes. Everything from the server reaches the page through
// textContent and setAttribute, never as markup, so a job or node name cannot inject HTML.
"use strict";

const POLL_MS = 1000;
const WINDOW_MS = 5 * 60 * 1000;
const HISTORY_ROWS = 10;
const TOKEN_KEY = "leader-jobs-token";
const SVG = "http://www.w3.org/2000/svg";

const state = {
  // Server time minus browser time, so ages and countdowns follow the node's clock.
  offset: 0,
  // lock -> Map(term -> { leader, since }): the terms seen while the page is open.
  terms: new Map(),
  // "lock\u0000job\u0000tick\u0000attempt" -> run with its lock and job: runs seen in the window.
  runs: new Map(),
  // The last history drawn per job, to redraw a table only when it changed.
  drawn: new Map(),
};

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function now() {
  return Date.now() + state.offset;
}

function span(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// "2026-12-04 21:18:34Z"; with `millis`, "21:18:34.017Z" (the day is the tick's).
function clock(iso, millis) {
  const text = new Date(Date.parse(iso)).toISOString();
  return millis ? text.slice(11, 23) + "Z" : text.slice(0, 10) + " " + text.slice(11, 19) + "Z";
}

function when(iso) {
  if (!iso) return "—";
  const at = Date.parse(iso);
  const delta = at - now();
  const text = clock(iso, false);
  return delta >= 0 ? `${text} (in ${span(delta)})` : `${text} (${span(delta)} ago)`;
}

function outcomeClass(outcome) {
  if (!outcome) return "abandoned";
  if (outcome === "ok") return "ok";
  if (outcome === "cancelled") return "cancelled";
  return "failed";
}

function message(text, isError) {
  const line = document.getElementById("message");
  line.textContent = text;
  line.className = isError ? "error" : "";
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || `${response.status} ${response.statusText}`;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

function requestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function command(job, action) {
  const headers = {};
  const token = document.getElementById("token").value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (action === "trigger") headers["Idempotency-Key"] = requestId();
  const path = `api/jobs/${encodeURIComponent(job)}/${action}`;
  try {
    const response = await fetch(path, { method: "POST", headers, cache: "no-store" });
    if (!response.ok) {
      message(`${action} ${job}: ${await errorText(response)}`, true);
      return;
    }
    const done = { trigger: "asked for a run of", pause: "paused", resume: "resumed" }[action];
    message(`${done} ${job}`, false);
    poll(false);
  } catch (error) {
    message(`${action} ${job}: ${error.message}`, true);
  }
}

function remember(status) {
  const horizon = now() - WINDOW_MS;
  for (const lock of status.cluster.locks) {
    if (!state.terms.has(lock.name)) state.terms.set(lock.name, new Map());
    const terms = state.terms.get(lock.name);
    if (lock.term > 0 && !terms.has(lock.term)) {
      terms.set(lock.term, { leader: lock.leader, since: lock.since ? Date.parse(lock.since) : now() });
    }
    for (const job of lock.jobs) {
      for (const run of job.recent) {
        const key = [lock.name, job.name, run.tick, run.attempt].join("\u0000");
        state.runs.set(key, { ...run, lock: lock.name, job: job.name });
      }
    }
  }
  for (const [key, run] of state.runs) {
    const end = runStart(run) + (run.duration_ms || 0);
    if (end < horizon) state.runs.delete(key);
  }
}

function runStart(run) {
  return Date.parse(run.started || run.tick);
}

function lockCard(lock) {
  const id = `lock-${lock.name}`;
  let card = document.getElementById(id);
  if (card) return card;
  card = el("article", { class: "lock", id, "data-lock": lock.name },
    el("h2", {}, "lock ", el("code", {}, lock.name)),
    el("p", { class: "leadership" },
      "leader ", el("strong", { "data-field": "leader" }),
      " · term ", el("span", { "data-field": "term" }),
      " · for ", el("span", { "data-field": "led-for" })),
    el("table", { class: "jobs" },
      el("thead", {}, el("tr", {},
        ...["job", "schedule", "next tick", "state", "last success", "last failure", ""].map((h) => el("th", {}, h)))),
      el("tbody", {})));
  document.getElementById("locks").append(card);
  return card;
}

function jobRows(card, job) {
  const body = card.querySelector("tbody");
  let row = [...body.children].find((r) => r.dataset.job === job.name && r.classList.contains("job"));
  if (row) return row;
  const actions = el("td", { class: "actions" });
  for (const [action, label] of [["trigger", "run now"], ["pause", "pause"], ["resume", "resume"]]) {
    const button = el("button", { type: "button", "data-action": action, "data-job": job.name }, label);
    button.addEventListener("click", () => command(job.name, action));
    actions.append(button);
  }
  row = el("tr", { class: "job", "data-job": job.name },
    el("td", { class: "name" }, job.name),
    el("td", {}, el("span", { "data-field": "words" }), el("br"), el("code", { "data-field": "cron" })),
    el("td", { "data-field": "next" }),
    el("td", { "data-field": "state" }),
    el("td", { "data-field": "success" }),
    el("td", { "data-field": "failure" }),
    actions);
  const history = el("tr", { class: "history", "data-job-history": job.name },
    el("td", { colspan: "7" }, el("table", { class: "runs" },
      el("thead", {}, el("tr", {},
        ...["tick", "node", "term", "attempt", "started", "duration", "outcome", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}))));
  body.append(row, history);
  return row;
}

function field(scope, name, text) {
  const node = scope.querySelector(`[data-field="${name}"]`);
  if (node.textContent !== text) node.textContent = text;
}

function pastRun(run) {
  if (!run) return "—";
  return `${when(run.tick)} on ${run.node}`;
}

function drawHistory(card, job) {
  const key = `${card.dataset.lock}\u0000${job.name}`;
  const recent = JSON.stringify(job.recent);
  if (state.drawn.get(key) === recent) return;
  state.drawn.set(key, recent);
  const history = [...card.querySelectorAll("tr.history")].find((r) => r.dataset.jobHistory === job.name);
  const body = history.querySelector("tbody");
  const rows = job.recent.slice(0, HISTORY_ROWS).map((run) => {
    const flags = [run.manual ? "manual" : "", run.rerun ? "rerun" : ""].filter(Boolean);
    return el("tr", { class: ["run", outcomeClass(run.outcome), ...flags].join(" ") },
      el("td", {}, clock(run.tick, false)),
      el("td", {}, run.node),
      el("td", {}, String(run.term)),
      el("td", {}, String(run.attempt)),
      el("td", {}, run.started ? clock(run.started, true) : "—"),
      el("td", {}, run.duration_ms === undefined ? "—" : `${run.duration_ms} ms`),
      el("td", { class: "outcome" }, run.outcome || "abandoned"),
      el("td", {}, flags.join(", ")));
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: "8", class: "empty" }, "no runs yet")));
  body.replaceChildren(...rows);
}

function render(status) {
  document.getElementById("served-by").textContent = `served by ${status.node}`;
  document.getElementById("token-field").hidden = !status.control;
  document.body.classList.toggle("read-only", !status.control);
  for (const lock of status.cluster.locks) {
    const card = lockCard(lock);
    field(card, "leader", lock.leader || "none yet");
    field(card, "term", String(lock.term));
    field(card, "led-for", lock.since ? span(now() - Date.parse(lock.since)) : "—");
    for (const job of lock.jobs) {
      const row = jobRows(card, job);
      field(row, "words", job.in_words);
      field(row, "cron", job.schedule);
      field(row, "next", job.paused ? "— (paused)" : when(job.next_tick));
      const pending = job.triggers > 0 ? ` · ${job.triggers} trigger(s) waiting` : "";
      field(row, "state", (job.paused ? "paused" : "active") + pending);
      row.classList.toggle("paused", job.paused);
      field(row, "success", pastRun(job.last_success));
      field(row, "failure", pastRun(job.last_failure));
      row.querySelector('[data-action="pause"]').hidden = job.paused;
      row.querySelector('[data-action="resume"]').hidden = !job.paused;
      drawHistory(card, job);
    }
  }
  drawTimeline(status);
}

function drawTimeline(status) {
  const chart = document.getElementById("timeline");
  const width = Math.max(600, chart.clientWidth || 960);
  const left = 140;
  const laneHeight = 16;
  const end = now();
  const start = end - WINDOW_MS;
  const right = width - 70;
  const x = (t) => left + ((t - start) / WINDOW_MS) * (right - left);
  const parts = [];
  let y = 18;
  for (let s = 0; s <= 5; s += 1) {
    const t = start + s * 60 * 1000;
    parts.push(svg("line", { x1: x(t), x2: x(t), y1: 12, y2: "100%", class: "grid" }));
    parts.push(svg("text", { x: x(t), y: 10, class: "axis" }, s === 5 ? "now" : `-${5 - s} min`));
  }
  for (const lock of status.cluster.locks) {
    const runs = [...state.runs.values()].filter((r) => r.lock === lock.name);
    const terms = [...(state.terms.get(lock.name) || new Map()).entries()];
    const nodes = [...new Set([...runs.map((r) => r.node), ...terms.map(([, t]) => t.leader).filter(Boolean)])].sort();
    parts.push(svg("text", { x: 4, y: y + 11, class: "lock-label" }, `lock ${lock.name}`));
    y += laneHeight;
    const top = y;
    for (const node of nodes) {
      parts.push(svg("text", { x: 12, y: y + 11, class: "lane-label" }, node));
      parts.push(svg("line", { x1: left, x2: right, y1: y + laneHeight / 2, y2: y + laneHeight / 2, class: "lane" }));
      for (const run of runs.filter((r) => r.node === node)) {
        const from = runStart(run);
        const to = from + (run.duration_ms || 0);
        if (to < start) continue;
        const bar = svg("rect", {
          x: x(Math.max(from, start)), y: y + 3, height: laneHeight - 6,
          width: Math.max(3, x(to) - x(Math.max(from, start))),
          class: `run ${outcomeClass(run.outcome)}`,
        });
        bar.append(svg("title", {}, `${run.job} ${run.tick} · term ${run.term} · ${run.outcome || "abandoned"}`));
        parts.push(bar);
      }
      y += laneHeight;
    }
    if (nodes.length === 0) {
      parts.push(svg("text", { x: left, y: y + 11, class: "lane-label" }, "no runs in the last 5 minutes"));
      y += laneHeight;
    }
    for (const [term, seen] of terms) {
      if (seen.since < start) continue;
      parts.push(svg("line", { x1: x(seen.since), x2: x(seen.since), y1: top, y2: y, class: "term" }));
      parts.push(svg("text", { x: x(seen.since) + 3, y: top - 3, class: "term-label" }, `term ${term} ${seen.leader || "?"}`));
    }
    y += 10;
  }
  chart.setAttribute("viewBox", `0 0 ${width} ${y}`);
  chart.setAttribute("height", String(y));
  chart.replaceChildren(...parts);
}

async function poll(again = true) {
  try {
    const response = await fetch("api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(await errorText(response));
    const status = await response.json();
    state.offset = Date.parse(status.now) - Date.now();
    remember(status);
    render(status);
    const badge = document.getElementById("connection");
    badge.textContent = "live";
    badge.className = "badge live";
  } catch (error) {
    const badge = document.getElementById("connection");
    badge.textContent = `not answering: ${error.message}`;
    badge.className = "badge down";
  } finally {
    if (again) setTimeout(poll, POLL_MS);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem(TOKEN_KEY) || "";
  token.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, token.value));
  poll();
});
