// Runs the agent desk page's script (argv[2]) in Node against a fake DOM and WebSocket.
'use strict';
const assert = require('assert');
const fs = require('fs');
const vm = require('vm');

const script = fs.readFileSync(process.argv[2], 'utf8');
const store = {};
let ids, sockets, timers;

class El {
  constructor() {
    this.kids = []; this.text = ''; this.className = ''; this.listeners = {}; this.value = '';
    this.disabled = false; this.title = ''; this.scrollTop = 0; this.scrollHeight = 0;
  }
  get textContent() { return this.text + this.kids.map(k => k.textContent).join(''); }
  set textContent(v) { this.kids = []; this.text = String(v); }
  get firstChild() { return this.kids[0] || null; }
  appendChild(c) { this.kids.push(c); return c; }
  addEventListener(type, f) { this.listeners[type] = f; }
}
class FakeWebSocket {
  constructor(url) { this.url = url; this.sent = []; this.readyState = 1; sockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; if (this.onclose) { this.onclose(); } }
  receive(frame) { this.onmessage({data: JSON.stringify(frame)}); }
}

function load(hash) {
  ids = {};
  sockets = [];
  timers = [];
  for (const id of ['agent', 'connect', 'status', 'queue', 'assigned', 'title', 'take', 'close',
                    'log', 'composer', 'text', 'send']) {
    ids[id] = new El();
  }
  const context = {
    document: {getElementById: id => ids[id], createElement: () => new El()},
    localStorage: {getItem: k => (k in store ? store[k] : null),
                   setItem: (k, v) => { store[k] = String(v); }},
    location: {protocol: 'http:', host: '127.0.0.1:8080', hash: hash},
    WebSocket: FakeWebSocket,
    setTimeout: f => { timers.push(f); return timers.length; },
    JSON, Math, Date, String, Object, decodeURIComponent
  };
  vm.runInNewContext(script, context);
  return context;
}
const summary = (id, state, agent = '') => ({
  conversation: id, channel: 'webchat', customer: '', verified: false, locale: 'zh-CN',
  reason: 'customer_request', state, agent, queued_at_ms: 1, last_activity_ms: 1});

// Without a name nothing connects; with one, the token from the fragment goes in the hello.
load('#token=s3cr%2Bt');
assert.strictEqual(sockets.length, 0);
ids.agent.value = 'Anna';
ids.connect.listeners.click();
let ws = sockets[0];
assert.strictEqual(ws.url, 'ws://127.0.0.1:8080/agent/ws');
ws.onopen();
assert.deepStrictEqual(ws.sent[0], {type: 'hello', token: 's3cr+t', agent: 'Anna'});
assert.strictEqual(store['teller-agent'], 'Anna');

// The snapshot fills the queue; choosing a conversation asks for its transcript.
const id = 'webchat:0123456789abcdef';
ws.receive({type: 'snapshot', agent: 'Anna', conversations: [summary(id, 'queued')]});
assert.ok(ids.status.className.includes('up'));
assert.strictEqual(ids.queue.kids.length, 1);
assert.ok(ids.queue.kids[0].textContent.includes(id));
assert.strictEqual(ids.assigned.kids[0].className, 'empty');
ids.queue.kids[0].listeners.click();
assert.deepStrictEqual(ws.sent[1], {type: 'view', conversation: id});
ws.receive({type: 'transcript', conversation: summary(id, 'queued'),
            lines: [{from: 'customer', text: '我要人工客服', at_ms: 1}]});
assert.strictEqual(ids.log.kids.length, 1);
assert.strictEqual(ids.log.kids[0].className, 'customer');
assert.strictEqual(ids.log.kids[0].textContent, '我要人工客服');
assert.strictEqual(ids.take.disabled, false);
assert.strictEqual(ids.send.disabled, true);

// Take sends join; once assigned to her the reply box opens and replies go out.
ids.take.listeners.click();
assert.strictEqual(ws.sent[2].type, 'join');
assert.strictEqual(ws.sent[2].conversation, id);
ws.receive({type: 'ack', id: ws.sent[2].id});
ws.receive({type: 'update', event: 'assigned', change: 'updated',
            conversation: summary(id, 'assigned', 'Anna'), lines: []});
assert.strictEqual(ids.queue.kids[0].className, 'empty');
assert.strictEqual(ids.assigned.kids.length, 1);
assert.strictEqual(ids.take.disabled, true);
assert.strictEqual(ids.send.disabled, false);
ids.text.value = 'Hello, this is Anna';
ids.composer.listeners.submit({preventDefault() {}});
assert.deepStrictEqual(
  {type: ws.sent[3].type, conversation: ws.sent[3].conversation, text: ws.sent[3].text},
  {type: 'message', conversation: id, text: 'Hello, this is Anna'});
assert.strictEqual(ids.text.value, '');

// Updates append lines; markup in customer text stays text.
ws.receive({type: 'update', event: 'customer_message', change: 'updated',
            conversation: summary(id, 'assigned', 'Anna'),
            lines: [{from: 'customer', text: '<img src=x onerror=alert(1)>', at_ms: 2}]});
assert.strictEqual(ids.log.kids.length, 2);
assert.strictEqual(ids.log.kids[1].textContent, '<img src=x onerror=alert(1)>');

// Close sends close; the closing update removes the conversation.
ids.close.listeners.click();
assert.strictEqual(ws.sent[4].type, 'close');
ws.receive({type: 'update', event: 'closed', change: 'closed', reason: 'agent', by: 'Anna',
            conversation: summary(id, 'closed', 'Anna'), lines: []});
assert.strictEqual(ids.assigned.kids[0].className, 'empty');
assert.strictEqual(ids.send.disabled, true);

// A dropped socket reconnects; a refused token does not.
ws.close();
assert.strictEqual(timers.length, 1);
timers.shift()();
ws = sockets[1];
ws.onopen();
ws.receive({type: 'error', code: 'unauthorized', message: 'the agent token is not valid'});
ws.close();
assert.strictEqual(timers.length, 0);
assert.ok(ids.status.className.includes('down'));

// A remembered name connects at once; without a token the page says how to get one.
load('');
assert.strictEqual(ids.agent.value, 'Anna');
assert.strictEqual(sockets.length, 0);
assert.ok(ids.status.textContent.includes('token'));
console.log('agent desk page: ok');
