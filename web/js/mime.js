// A small MIME reader for the outbox page: the message as the outbox file holds it (RFC 5322
// headers, RFC 2045-2047 bodies and encoded words, RFC 2046 multiparts) into headers, a text
// and an HTML body, and attachments as bytes. The input is a "binary string": one character
// per byte (the file decoded as ISO-8859-1), so nothing is lost before a part's own charset
// is applied.

export function bytesToBinary(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return out;
}

export function binaryToBytes(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function decodeCharset(bytes, charset) {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export function decodeBase64(text) {
  try {
    return atob(text.replace(/[^A-Za-z0-9+/=]/g, ''));
  } catch {
    return '';
  }
}

export function decodeQuotedPrintable(text, header = false) {
  let s = text.replace(/=\r?\n/g, '');
  if (header) s = s.replace(/_/g, ' ');
  return s.replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

// RFC 2047 encoded words (=?charset?B|Q?text?=) in a header value, decoded; whitespace between
// two adjacent encoded words is dropped (section 6.2). The value is a binary string.
export function decodeHeaderValue(value) {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  let out = '';
  let last = 0;
  for (let m = word.exec(joined); m; m = word.exec(joined)) {
    out += decodeCharset(binaryToBytes(joined.slice(last, m.index)), 'utf-8');
    const raw = m[2].toUpperCase() === 'B' ? decodeBase64(m[3]) : decodeQuotedPrintable(m[3], true);
    out += decodeCharset(binaryToBytes(raw), m[1].split('*')[0]);
    last = m.index + m[0].length;
  }
  return out + decodeCharset(binaryToBytes(joined.slice(last)), 'utf-8');
}

// Splits header section and body at the first empty line.
function split(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return [raw, ''];
  return [raw.slice(0, m.index), raw.slice(m.index + m[0].length)];
}

// [name (lower-case), value (unfolded, still encoded)] in order.
export function parseHeaders(head) {
  const out = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      out[out.length - 1][1] += ' ' + line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) out.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
  }
  return out;
}

// "text/plain; charset=utf-8; name=\"a b.zip\"" -> {value: 'text/plain', params: {charset, name}}
// with RFC 2231 name*=charset''percent-encoded values decoded.
export function parseParams(value) {
  const [first, ...rest] = splitUnquoted(value || '', ';');
  const params = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    let name = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name.endsWith('*')) {
      name = name.slice(0, -1);
      const m = /^([^']*)'[^']*'(.*)$/.exec(v);
      if (m) {
        const bytes = binaryToBytes(m[2].replace(/%([0-9A-Fa-f]{2})/g,
          (_, hex) => String.fromCharCode(parseInt(hex, 16))));
        v = decodeCharset(bytes, m[1]);
      }
    } else {
      v = decodeHeaderValue(v);
    }
    params[name] = v;
  }
  return {value: first.trim().toLowerCase(), params};
}

function splitUnquoted(text, sep) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function header(headers, name) {
  const found = headers.find(([n]) => n === name);
  return found ? found[1] : '';
}

function decodeBody(body, encoding) {
  switch ((encoding || '').toLowerCase()) {
    case 'base64': return decodeBase64(body);
    case 'quoted-printable': return decodeQuotedPrintable(body);
    default: return body;
  }
}

function multipartBodies(body, boundary) {
  const parts = [];
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  let current = null;
  for (const line of lines) {
    if (line === `${delimiter}--`) {
      if (current) parts.push(current.join('\r\n'));
      return parts;
    }
    if (line === delimiter) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
    } else if (current) {
      current.push(line);
    }
  }
  if (current) parts.push(current.join('\r\n'));
  return parts;
}

// Walks a part (and its children), filling `out`. Depth is bounded against hostile nesting.
function walk(raw, out, depth) {
  const [head, body] = split(raw);
  const headers = parseHeaders(head);
  const type = parseParams(header(headers, 'content-type') || 'text/plain');
  const disposition = parseParams(header(headers, 'content-disposition'));
  const encoding = header(headers, 'content-transfer-encoding');
  if (type.value.startsWith('multipart/') && type.params.boundary && depth < 10) {
    for (const part of multipartBodies(body, type.params.boundary)) walk(part, out, depth + 1);
    return;
  }
  const filename = disposition.params.filename || type.params.name;
  const decoded = decodeBody(body, encoding);
  if (disposition.value === 'attachment' || filename ||
      !(type.value === 'text/plain' || type.value === 'text/html')) {
    out.attachments.push({
      filename: filename || 'attachment',
      contentType: type.value,
      bytes: binaryToBytes(decoded),
    });
    return;
  }
  const text = decodeCharset(binaryToBytes(decoded), type.params.charset);
  if (type.value === 'text/html') {
    if (out.html === null) out.html = text;
  } else if (out.text === null) {
    out.text = text;
  }
}

// The whole message: {headers: [[name, decoded value]], text, html, attachments}.
export function parseMessage(raw) {
  const [head] = split(raw);
  const out = {
    headers: parseHeaders(head).map(([n, v]) => [n, decodeHeaderValue(v)]),
    text: null,
    html: null,
    attachments: [],
  };
  walk(raw, out, 0);
  return out;
}

export function headerOf(message, name) {
  const found = message.headers.find(([n]) => n === name);
  return found ? found[1] : '';
}
