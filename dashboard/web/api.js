// The API client: bearer token from localStorage, JSON in and out, errors carry the server's message.
const KEY = 'tapline.token';

export const token = {
  get: () => localStorage.getItem(KEY),
  set: (t) => localStorage.setItem(KEY, t),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, params = {}, init = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const url = `/api/v1/${path}${qs.size ? `?${qs}` : ''}`;
  const res = await fetch(url, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token.get() ?? ''}` } });
  const body = await res.json().catch(() => null);
  // every refused token asks to sign in again, whichever view or action made the request
  if (res.status === 401) window.dispatchEvent(new CustomEvent('tapline:unauthorized'));
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
