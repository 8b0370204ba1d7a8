// The single-page app: routing (#/view?params), the shared time range, sign-in, live updates,
// and a registry of chart instances (window.tapline.charts) that the browser tests read.
import { api, token, ApiError } from './api.js';
import { esc } from './fmt.js';
import * as topology from './views/topology.js';
import * as pair from './views/pair.js';
import * as trends from './views/trends.js';
import * as performance from './views/performance.js';
import * as alerts from './views/alerts.js';
import * as capacity from './views/capacity.js';

const VIEWS = { topology, pair, trends, performance, alerts, capacity };
const $ = (id) => document.getElementById(id);
const state = { meta: null, range: null, view: null, cleanup: null, charts: new Map(), live: null, renderSeq: 0 };
window.tapline = { charts: {}, data: {}, ready: false, renders: 0 };

function toast(msg, kind = 'error') {
  const t = $('toast');
  t.textContent = msg;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

function parseHash() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { view: VIEWS[path] ? path : 'topology', params: Object.fromEntries(new URLSearchParams(query ?? '')) };
}

export function navigate(view, params = {}) {
  const p = { ...params, from: state.range.from, to: state.range.to };
  location.hash = `#/${view}?${new URLSearchParams(p)}`;
}

const toLocal = (ms) => { const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000); return d.toISOString().slice(0, 16); };

function setRange(from, to) {
  state.range = { from: Math.floor(from), to: Math.ceil(to) };
  $('range-from').value = toLocal(state.range.from);
  $('range-to').value = toLocal(state.range.to);
}

function defaultRange(spanMs) {
  const end = state.meta?.data?.end ? Date.parse(state.meta.data.end) : Date.now();
  return [end - spanMs, end];
}

function chartFactory(name, el) {
  // eslint-disable-next-line no-undef
  const c = echarts.init(el, null, { renderer: 'canvas' });
  state.charts.set(name, c);
  window.tapline.charts[name] = c;
  return c;
}

async function render() {
  const { view, params } = parseHash();
  const seq = ++state.renderSeq;
  if (params.from && params.to && Number(params.from) < Number(params.to)) setRange(Number(params.from), Number(params.to));
  state.cleanup?.();
  state.cleanup = null;
  for (const c of state.charts.values()) c.dispose();
  state.charts.clear();
  window.tapline.charts = {};
  window.tapline.ready = false;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  const main = $('main');
  main.innerHTML = '<p class="muted loading">loading…</p>';
  main.dataset.view = view;
  const ctx = {
    api, params, range: { ...state.range }, meta: state.meta, role: state.meta.role, toast, navigate,
    chart: chartFactory, stale: () => seq !== state.renderSeq,
    publish: (key, data) => { window.tapline.data[key] = data; },
  };
  try {
    state.cleanup = (await VIEWS[view].render(main, ctx)) ?? null;
  } catch (e) {
    if (seq !== state.renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return signIn('your token was refused; sign in again');
    main.innerHTML = `<div class="panel error-panel"><h2>Cannot show this view</h2><p>${esc(e.message)}</p></div>`;
  }
  if (seq === state.renderSeq) { window.tapline.ready = true; window.tapline.renders++; }
}

function signIn(message = '') {
  const dlg = $('login');
  $('login-error').textContent = message;
  if (!dlg.open) dlg.showModal();
}

async function start() {
  try {
    state.meta = await api('meta');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signIn(token.get() ? 'that token was refused' : '');
    document.getElementById('main').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    return;
  }
  $('role').textContent = state.meta.role;
  $('role').className = `role ${state.meta.role}`;
  const [from, to] = defaultRange(Number($('range-preset').value));
  if (!state.range) setRange(from, to);
  connectLive();
  if (!state.started) {
    state.started = true;
    window.addEventListener('hashchange', render);
    window.addEventListener('resize', () => { for (const c of state.charts.values()) c.resize(); });
  }
  await render();
}

function connectLive() {
  state.live?.close();
  const es = new EventSource(`/api/v1/events?token=${encodeURIComponent(token.get() ?? '')}`);
  state.live = es;
  const dot = $('live');
  es.addEventListener('hello', () => { dot.classList.add('on'); dot.title = 'live updates: connected'; });
  es.onerror = () => { dot.classList.remove('on'); dot.title = 'live updates: reconnecting'; };
  const refresh = (e) => {
    dot.classList.add('pulse');
    setTimeout(() => dot.classList.remove('pulse'), 600);
    // Re-render only a view that shows the newest data (range ends at the data's end).
    const end = state.meta?.data?.end ? Date.parse(state.meta.data.end) : 0;
    if (e.type === 'alert' && state.view === 'alerts') render();
    else if (e.type === 'window' && state.range.to >= end) api('meta').then((m) => { state.meta = m; }).catch(() => undefined);
  };
  es.addEventListener('window', refresh);
  es.addEventListener('alert', refresh);
}

$('login-form').addEventListener('submit', (ev) => {
  const t = $('login-token').value.trim();
  if (t.length < 16) { ev.preventDefault(); $('login-error').textContent = 'tokens are at least 16 characters'; return; }
  token.set(t);
  start();
});
$('logout').addEventListener('click', () => { token.clear(); state.live?.close(); location.hash = ''; signIn(); });
$('range-preset').addEventListener('change', () => {
  const v = $('range-preset').value;
  if (v === 'custom') return;
  const [from, to] = defaultRange(Number(v));
  setRange(from, to);
  const { view, params } = parseHash();
  navigate(view, params);
});
$('range-apply').addEventListener('click', () => {
  const from = Date.parse($('range-from').value);
  const to = Date.parse($('range-to').value);
  if (!(from < to)) { toast('the start of the range must be before its end'); return; }
  $('range-preset').value = 'custom';
  setRange(from, to);
  const { view, params } = parseHash();
  navigate(view, params);
});
window.addEventListener('hashchange', () => { state.view = parseHash().view; });
window.addEventListener('tapline:unauthorized', () => signIn('your token was refused; sign in again'));
state.view = parseHash().view;
start();
