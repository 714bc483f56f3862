// Server-Sent Events read with fetch() and a stream parser: EventSource cannot send the
// x-api-key header. Reconnects after a drop with Last-Event-ID, so no change is missed.
// Format: https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream

import {authHeaders} from './api.js';

// Feeds text chunks, calls onEvent({id, event, data}) per complete event. Comment lines
// (": keep-alive") are skipped; `retry:` is reported through onRetry.
export class EventStreamParser {
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = '';
    this.reset();
    this.lastId = '';
  }

  reset() {
    this.data = [];
    this.event = '';
  }

  push(text) {
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!match || (match[0] === '\r' && match.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({id: this.lastId, event: this.event || 'message', data: this.data.join('\n')});
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

// Follows `path` until `signal` aborts. onChange(parsed JSON data, event name) per event;
// onState('connected' | 'reconnecting' | 'unavailable', detail) as the connection changes.
export async function follow(path, {signal, onChange, onState = () => {}}) {
  let lastId = '';
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const headers = authHeaders({accept: 'text/event-stream'});
      if (lastId) headers['last-event-id'] = lastId;
      const response = await fetch(path, {headers, signal, cache: 'no-store'});
      const type = response.headers.get('content-type') || '';
      if (!response.ok || !type.startsWith('text/event-stream')) {
        if (response.body) await response.body.cancel();
        onState('unavailable', `the server answered ${response.status}`);
        if (response.status === 401 || response.status === 403) return;
        delay = 15000;
      } else {
        onState('connected');
        delay = 1000;
        const parser = new EventStreamParser((e) => {
          lastId = e.id || lastId;
          let data = null;
          try { data = JSON.parse(e.data); } catch { return; }
          onChange(data, e.event);
        }, (ms) => { delay = ms; });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          parser.push(value);
        }
        if (signal.aborted) return;
        onState('reconnecting', 'the connection closed');
      }
    } catch (e) {
      if (signal.aborted) return;
      onState('reconnecting', e.message);
    }
    await new Promise((resolve) => {
      const t = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
    });
  }
}
