// The web page of the REST API: it calls the same endpoints as curl does, with the bearer
// token the user gives (kept in sessionStorage only), so Kubernetes RBAC applies unchanged.
// Every value from the API goes into the page as text, never as HTML.
"use strict";

const TOKEN_KEY = "orchestrator.token";
const REFRESH_MS = 2000;
const params = new URLSearchParams(location.search);
const namespace = params.get("namespace");
const $ = (id) => document.getElementById(id);
let shown = null; // the run whose output is shown
let following = null; // AbortController of the output being read
let me = { username: "", mayApprove: false }; // who is logged in, and whether they may approve here

// A token in the URL fragment (#token=...) is removed from the address bar and used only once
// the visitor has seen whose it is and said yes: a link must not log someone in silently as
// another identity (login CSRF).
const offered = (function takeTokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
})();

async function whoami(token) {
  return (await identity(token)).username;
}

async function identity(token) {
  const response = await fetch(url("../whoami"), { headers: { Authorization: "Bearer " + token } });
  if (!response.ok) return { username: null, mayApprove: false };
  return await response.json();
}

async function offer(token) {
  $("login").hidden = true;
  $("app").hidden = true;
  $("offer").hidden = false;
  const [theirs, mine] = await Promise.all([
    whoami(token),
    sessionStorage.getItem(TOKEN_KEY) ? whoami(sessionStorage.getItem(TOKEN_KEY)) : null,
  ]);
  $("offer-user").textContent = theirs || "(a token the cluster does not accept)";
  $("offer-current").textContent = mine ? "You are logged in as " + mine + " now." : "You are not logged in now.";
  $("offer-accept").disabled = !theirs;
  $("offer-accept").onclick = () => { sessionStorage.setItem(TOKEN_KEY, token); $("offer").hidden = true; enter(); };
  $("offer-decline").onclick = () => {
    $("offer").hidden = true;
    if (sessionStorage.getItem(TOKEN_KEY)) enter(); else logout();
  };
}

function url(path, extra = {}) {
  const query = new URLSearchParams(extra);
  if (namespace) query.set("namespace", namespace);
  const text = query.toString();
  return path + (text ? "?" + text : "");
}

async function api(method, path, { body, extra, signal } = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, extra), { method, headers, signal, body: body && JSON.stringify(body) });
  if (response.status === 401) {
    logout("The cluster did not accept the token: log in again.");
    throw new Error("unauthorized");
  }
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${message}`);
  }
  return response;
}

function age(created) {
  if (!created) return "";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(created)) / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function button(td, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", (event) => { event.stopPropagation(); onClick(); });
  td.appendChild(b);
}

function render(runs) {
  const body = $("runs").tBodies[0];
  body.replaceChildren();
  $("empty").hidden = runs.length > 0;
  for (const run of runs) {
    const row = body.insertRow();
    row.dataset.run = run.job;
    if (run.job === shown) row.classList.add("selected");
    cell(row, run.job);
    cell(row, run.cmd, "cmd").title = run.cmd || "";
    const waits = run.reason === "AwaitingApproval";
    const phase = waits ? "Awaiting approval" : run.phase || "Pending";
    cell(row, phase, "status " + (waits ? "Awaiting" : run.phase || "Pending")).title = run.reason || "";
    cell(row, run.exitCode, "exit");
    cell(row, run.duration, "duration");
    cell(row, age(run.created), "age");
    cell(row, run.requestedBy, "who").title = run.approvedBy ? "approved by " + run.approvedBy : "";
    const actions = cell(row, "");
    // Offered to those who hold the verb approve and did not ask for the run themselves; the
    // cluster decides all the same (the orchestrator-approval admission policy).
    if (waits && me.mayApprove && run.requestedBy !== me.username) {
      button(actions, "Approve", () => decide(run.job, "approve"));
      button(actions, "Reject", () => decide(run.job, "reject"));
    }
    if (run.phase !== "Succeeded" && run.phase !== "Failed") {
      button(actions, "Cancel", () => cancelRun(run.job));
    } else {
      // The same AdhocCommand again, with all it says (from, env, volumes, args): not a new
      // shell command built from the cmd column.
      button(actions, "Rerun", () => rerun(run.job));
    }
    button(actions, "Delete", () => remove(run.job));
    row.addEventListener("click", () => showOutput(run.job));
  }
}

async function refresh() {
  try {
    const runs = await (await api("GET", "/jobs", { extra: { limit: "200" } })).json();
    runs.sort((a, b) => (b.created || "").localeCompare(a.created || ""));
    render(runs);
    $("error").textContent = "";
  } catch (err) {
    if (err.message !== "unauthorized") $("error").textContent = err.message;
  }
}

async function start(cmd, image) {
  const body = { cmd };
  if (image) body.image = image;
  try {
    const created = await (await api("POST", "/jobs", { body })).json();
    await refresh();
    showOutput(created.id);
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function rerun(run) {
  try {
    await api("POST", `/jobs/${encodeURIComponent(run)}/rerun`);
    await refresh();
    showOutput(run);
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function decide(run, verdict) {
  let body;
  if (verdict === "reject") {
    const reason = window.prompt("Reject " + run + ": why? (the requester reads it)");
    if (reason === null) return;
    body = { reason };
  }
  try {
    await api("POST", `/jobs/${encodeURIComponent(run)}/${verdict}`, { body });
    await refresh();
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function cancelRun(run) {
  try {
    await api("POST", `/jobs/${encodeURIComponent(run)}/cancel`);
    await refresh();
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function remove(run) {
  try {
    await api("DELETE", "/jobs/" + encodeURIComponent(run));
    if (run === shown) { $("output-pane").hidden = true; shown = null; }
    await refresh();
  } catch (err) {
    $("error").textContent = err.message;
  }
}

// The output, live while the command runs: GET /jobs/{id}/logs?follow=true, read as it comes.
async function showOutput(run) {
  if (following) following.abort();
  following = new AbortController();
  shown = run;
  for (const row of $("runs").tBodies[0].rows) row.classList.toggle("selected", row.dataset.run === run);
  $("output-pane").hidden = false;
  $("output-run").textContent = run;
  $("output-state").textContent = "(following)";
  $("output").textContent = "";
  const decoder = new TextDecoder();
  try {
    const response = await api("GET", `/jobs/${encodeURIComponent(run)}/logs`,
                               { extra: { follow: "true" }, signal: following.signal });
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      $("output").textContent += decoder.decode(value, { stream: true });
    }
    $("output").textContent += decoder.decode();
    $("output-state").textContent = "(ended)";
  } catch (err) {
    if (err.name !== "AbortError" && err.message !== "unauthorized") $("output-state").textContent = "(" + err.message + ")";
  }
}

function logout(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  if (following) following.abort();
  $("app").hidden = true;
  $("logout").hidden = true;
  $("user").textContent = "";
  $("login").hidden = false;
  $("login-error").textContent = message;
}

function enter() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  identity(sessionStorage.getItem(TOKEN_KEY)).then((who) => {
    me = who;
    $("user").textContent = who.username || "";
    refresh();
  });
  refresh();
}

$("namespace").textContent = "namespace: " + (namespace || "(the service's default)");
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  enter();
});
$("run-form").addEventListener("submit", (event) => {
  event.preventDefault();
  start($("cmd").value, $("image").value.trim());
});
$("logout").addEventListener("click", () => logout());
setInterval(() => { if (!$("app").hidden) refresh(); }, REFRESH_MS);
if (offered) offer(offered);
else if (sessionStorage.getItem(TOKEN_KEY)) enter();
else logout();
