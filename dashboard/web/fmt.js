// Number and time formatting with units, shared by every view.
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function bytes(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1000 && i < UNITS.length - 1) { x /= 1000; i++; }
  return `${(Math.sign(v) * x).toFixed(x >= 100 || i === 0 ? 0 : 1)} ${UNITS[i]}`;
}
export const bps = (v) => (v === null || v === undefined ? '–' : `${bytes(v)}/s`);
export const ms = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`);
export const pct = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v < 0.1 && v > 0 ? v.toFixed(3) : v.toFixed(v < 10 ? 2 : 1)} %`);
export const int = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
export const time = (iso) => (iso ? new Date(iso).toLocaleString('sv-SE').slice(0, 19) : '–');
export const shortTime = (iso) => (iso ? new Date(iso).toLocaleTimeString('sv-SE').slice(0, 5) : '–');

export const HEALTH_COLOURS = { ok: '#2e9d5b', warning: '#e0a100', critical: '#d64545', unknown: '#9aa3ad' };

/** Escapes text for innerHTML templates. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
