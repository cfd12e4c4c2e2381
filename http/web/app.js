// gantry's dashboard: plain JS, hash routing (#/nodes, #/jobs, #/jobs/ID, #/queues). Every data
// call sends the token kept in sessionStorage; a 401 brings the token form back. A token may
// also arrive in the URL fragment (#token=T, optionally &to=/jobs/ID): it is stored and removed
// from the address bar at once (fragments never reach the server).
'use strict';

const TOKEN_KEY = 'gantry.token';
const REFRESH_MS = 2000;
const view = document.getElementById('view');
let timer = null;
let stopStream = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function table(headers, rows) {
  const t = el('table', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h))));
  for (const r of rows) t.append(el('tr', {}, ...r.map((c) => el('td', {}, c))));
  return t;
}

function stateCell(s) { return el('span', { class: 'state-' + s }, s); }

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) } });
  if (r.ok) return r;
  let message = r.status + ' ' + r.statusText;
  try { message = (await r.json()).error || message; } catch (e) { /* not JSON */ }
  if (r.status === 401) showLogin(message);
  throw new HttpError(r.status, message);
}
async function apiJson(path) { return (await api(path)).json(); }

function showLogin(message) {
  stop();
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  view.replaceChildren();
}

function status(text) { document.getElementById('status').textContent = text; }

function gpuCell(g) {
  const frac = (g.allocated_milli || 0) / 1000;
  const bar = el('div', { class: 'bar' });
  bar.style.width = Math.min(100, frac * 100) + '%';
  return el('div', { class: 'gpu', 'data-gpu': g.index, title: g.model },
    bar, el('div', { class: 'label' }, 'GPU ' + g.index + ' ', el('b', { class: 'fraction' }, frac.toFixed(2))));
}

async function renderNodes() {
  const nodes = await apiJson('/api/v1/nodes');
  view.replaceChildren(el('h2', {}, 'Nodes'), ...nodes.map((n) => el('div', { class: 'node', 'data-node': n.name },
    el('b', {}, n.name), ' ', stateCell(n.state), ' ',
    `${n.allocated_cpus}/${n.cpus} CPUs, ${n.tasks} tasks, GPU sharing: ${n.gpu_sharing || 'none'}`,
    el('div', { class: 'gpus' }, ...n.gpus.map(gpuCell)))));
}

const jobFilter = { state: '', queue: '' };

function select(name, values, current, onChange) {
  const s = el('select', { name }, el('option', { value: '' }, 'any ' + name));
  for (const v of values) s.append(el('option', { value: v }, v));
  s.value = current;
  s.addEventListener('change', () => { onChange(s.value); render(); });
  return s;
}

async function renderJobs() {
  const jobs = await apiJson('/api/v1/jobs' + (jobFilter.state ? '?state=' + jobFilter.state : ''));
  const queues = [...new Set(jobs.filter((j) => 'queue' in j).map((j) => j.queue))].sort();
  const shown = jobs.filter((j) => !jobFilter.queue || j.queue === jobFilter.queue);
  const filters = el('p', {}, select('state', ['pending', 'running', 'succeeded', 'failed', 'cancelled'],
    jobFilter.state, (v) => { jobFilter.state = v; }));
  if (queues.length) filters.append(' ', select('queue', queues, jobFilter.queue, (v) => { jobFilter.queue = v; }));
  const rows = shown.map((j) => {
    const row = [el('a', { href: '#/jobs/' + j.id }, j.id), j.name, j.owner, stateCell(j.state)];
    if (queues.length) row.push(j.queue || '');
    row.push(j.restarts, j.reason || j.pending_reason);
    return row;
  });
  const headers = ['id', 'name', 'owner', 'state'].concat(queues.length ? ['queue'] : [], ['restarts', 'reason']);
  const t = table(headers, rows);
  t.id = 'jobs';
  view.replaceChildren(el('h2', {}, 'Jobs'), filters, t);
}

async function renderQueues() {
  let queues;
  try {
    queues = await apiJson('/api/v1/queues');
  } catch (e) {
    if (e.status !== 404) throw e;
    view.replaceChildren(el('h2', {}, 'Queues'), el('p', { id: 'no-queues' }, 'queues are not available on this coordinator'));
    return;
  }
  const rows = queues.map((q) => Object.keys(q).map((k) => typeof q[k] === 'object' ? JSON.stringify(q[k]) : q[k]));
  view.replaceChildren(el('h2', {}, 'Queues'), queues.length ? table(Object.keys(queues[0]), rows) : el('p', {}, 'no queues'));
}

// Follows the job's events over SSE with fetch (EventSource cannot send the token).
function followEvents(id, list) {
  const ctl = new AbortController();
  let last = 0;
  (async () => {
    const r = await fetch(`/api/v1/jobs/${id}/events`, { signal: ctl.signal, headers: { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) } });
    if (!r.ok) { list.append(el('li', { class: 'error' }, 'events: ' + r.status)); return; }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!data || block.startsWith('event: end')) continue;
        const e = JSON.parse(data);
        if (e.seq <= last) continue;
        last = e.seq;
        const where = e.kind === 'job' ? '' : e.stage + (e.kind === 'rank' ? '/' + e.rank : '') + ' ';
        list.append(el('li', { 'data-seq': e.seq }, `#${e.seq} ${new Date(e.time_ms).toLocaleTimeString()} ${e.kind} ${where}${e.state} ${e.message}`));
      }
    }
  })().catch((e) => { if (e.name !== 'AbortError') list.append(el('li', { class: 'error' }, String(e))); });
  return () => ctl.abort();
}

async function renderJob(id, first) {
  const job = await apiJson('/api/v1/jobs/' + encodeURIComponent(id));
  const ranks = [];
  for (const st of job.stages) {
    for (const r of st.ranks) ranks.push([st.name, r.rank, stateCell(r.state), r.node, r.attempt, r.gpus.join(','), (r.gpu_milli / 1000).toFixed(2), r.exit_code, r.reason]);
  }
  const parts = [el('h2', {}, `Job ${job.id} `, el('small', {}, job.name), ' ', stateCell(job.state)),
    el('p', { id: 'job-state' }, job.state + (job.reason ? ': ' + job.reason : '')),
    el('h3', {}, 'Stages'), table(['stage', 'state', 'restarts', 'reason'], job.stages.map((s) => [s.name, stateCell(s.state), s.restarts, s.reason])),
    el('h3', {}, 'Ranks'), table(['stage', 'rank', 'state', 'node', 'attempt', 'gpus', 'gpu', 'exit', 'reason'], ranks)];
  let events = document.getElementById('events');
  if (first || !events) {
    events = el('ol', { id: 'events', class: 'events' });
    stopStream = followEvents(job.id, events);
  }
  const logs = el('div', { id: 'logs' });
  for (const st of job.stages) {
    for (const r of st.ranks) {
      if (!r.task_id) continue;
      try {
        const chunk = await apiJson(`/api/v1/jobs/${job.id}/logs?stage=${encodeURIComponent(st.name)}&rank=${r.rank}&tail=4096`);
        logs.append(el('h4', {}, `${st.name}/${r.rank}`), el('pre', {}, chunk.data));
      } catch (e) {
        logs.append(el('h4', {}, `${st.name}/${r.rank}`), el('p', { class: 'error' }, e.message));
      }
    }
  }
  view.replaceChildren(...parts, el('h3', {}, 'Events'), events, el('h3', {}, 'Logs (tail)'), logs);
}

function stop() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (stopStream) stopStream();
  stopStream = null;
}

let generation = 0;
async function render() {
  stop();
  const mine = ++generation;
  const route = location.hash.replace(/^#/, '') || '/nodes';
  const job = route.match(/^\/jobs\/([^/]+)$/);
  const draw = job ? (first) => renderJob(decodeURIComponent(job[1]), first)
    : route === '/jobs' ? renderJobs : route === '/queues' ? renderQueues : renderNodes;
  const tick = async (first) => {
    try {
      await draw(first);
      status('updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      if (e.status === 401) return;
      status('error: ' + e.message);
    }
    if (mine === generation) timer = setTimeout(() => tick(false), REFRESH_MS);
  };
  tick(true);
}

function takeTokenFromFragment() {
  const m = location.hash.match(/^#token=([^&]*)(?:&to=(.*))?$/);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + '#' + (m[2] ? decodeURIComponent(m[2]) : '/nodes'));
}

document.getElementById('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value.trim());
  document.getElementById('login').hidden = true;
  render();
});
document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
});
window.addEventListener('hashchange', () => { if (!location.hash.startsWith('#token=')) render(); else { takeTokenFromFragment(); render(); } });

takeTokenFromFragment();
if (sessionStorage.getItem(TOKEN_KEY)) render(); else showLogin('');
