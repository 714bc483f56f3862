// Calls to hirestream's API with the signed-in key (x-api-key). The key lives in
// sessionStorage: it is gone when the tab closes, and never in a URL or a cookie.

const KEY = 'hirestream.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set(key) { sessionStorage.setItem(KEY, key); },
  clear() { sessionStorage.removeItem(KEY); },
};

// An error answer of the API: {"error": {"code", "message", "field"}}.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// Called with a message when the API refuses the key (401): app.js returns to sign-in.
let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

function headers(extra = {}) {
  const out = {...extra};
  if (session.key) out['x-api-key'] = session.key;
  return out;
}

async function errorOf(response) {
  let code = 'error';
  let message = `${response.status} ${response.statusText}`;
  let field = '';
  try {
    const body = await response.json();
    if (body && body.error) ({code, message, field} = body.error);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message, field);
}

// Sends a request; resolves with the parsed JSON (null for 204), or the response itself when
// `raw` is set. Rejects with an ApiError for an error answer.
export async function api(path, {method = 'GET', body, signal, raw = false, key} = {}) {
  const init = {method, signal, headers: headers()};
  if (key) init.headers['x-api-key'] = key;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !key) {
      session.clear();
      onUnauthenticated(`The API refused the key: ${error.message}. Sign in again.`);
    }
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

export {headers as authHeaders};
