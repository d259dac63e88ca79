// Runs the web chat page's script (argv[2]) in Node against a fake DOM and WebSocket.
'use strict';
const assert = require('assert');
const fs = require('fs');
const vm = require('vm');
const script = fs.readFileSync(process.argv[2], 'utf8');
const store = {};
let ids, sockets, timers;

class El {
  constructor() { this.kids = []; this.text = ''; this.className = ''; this.listeners = {}; this.value = ''; }
  get textContent() { return this.kids.length ? this.kids.map(k => k.textContent).join('') : this.text; }
  set textContent(v) { this.kids = []; this.text = String(v); }
  appendChild(c) { this.kids.push(c); return c; }
  addEventListener(type, f) { this.listeners[type] = f; }
}
class FakeWebSocket {
  constructor(url) { this.url = url; this.sent = []; sockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { if (this.onclose) { this.onclose(); } }
  receive(frame) { this.onmessage({data: JSON.stringify(frame)}); }
}

function load(language, token = '', search = '') {
  ids = {};
  sockets = [];
  timers = [];
  for (const id of ['log', 'choices', 'input', 'status', 'title', 'send', 'reset', 'composer']) {
    ids[id] = new El();
  }
  const context = {
    document: {getElementById: id => ids[id], createElement: () => new El(),
               documentElement: {lang: ''}, title: '',
               querySelector: () => ({getAttribute: () => token})},
    localStorage: {getItem: k => (k in store ? store[k] : null),
                   setItem: (k, v) => { store[k] = String(v); },
                   removeItem: k => { delete store[k]; }},
    navigator: {language: language},
    location: {protocol: 'https:', host: 'bank.example', search: search},
    URLSearchParams,
    WebSocket: FakeWebSocket,
    setTimeout: f => { timers.push(f); return timers.length; },
    clearTimeout: () => {},
    JSON, Math, Date, String
  };
  vm.runInNewContext(script, context);
  return context;
}
const submit = text => { ids.input.value = text; ids.composer.listeners.submit({preventDefault() {}}); };

// First visit, Chinese browser: hello without a conversation, the welcome's id is kept.
const page = load('zh-CN');
assert.strictEqual(ids.title.textContent, '在线客服');
assert.strictEqual(page.document.documentElement.lang, 'zh-CN');
let ws = sockets[0];
assert.strictEqual(ws.url, 'wss://bank.example/ws');
ws.onopen();
assert.deepStrictEqual(ws.sent[0], {type: 'hello', locale: 'zh-CN'});
const conversation = 'webchat:0123456789abcdef0123456789abcdef';
ws.receive({type: 'welcome', conversation});
assert.strictEqual(store['teller.webchat.conversation'], conversation);
assert.ok(ids.status.className.includes('up'));

// A new chat opens with a greeting and suggestions, drawn locally and not sent.
assert.strictEqual(ids.log.kids.length, 1);
assert.strictEqual(ids.log.kids[0].className, 'msg bot');
assert.ok(ids.log.kids[0].textContent.includes('挂失'));
assert.strictEqual(ids.choices.kids.length, 3);
assert.strictEqual(ws.sent.length, 1);

// A message goes out with an id, shows as sending, then as sent after the ack.
submit('我想挂失信用卡');
const sent = ws.sent[1];
assert.strictEqual(sent.type, 'message');
assert.strictEqual(sent.text, '我想挂失信用卡');
assert.ok(sent.id);
assert.strictEqual(ids.log.kids[1].className, 'msg me sending');
ws.receive({type: 'ack', id: sent.id});
assert.strictEqual(ids.log.kids[1].className, 'msg me');

// A reply shows once even if sent twice; its quick replies become buttons.
const reply = {type: 'reply', text: '确认挂失吗？', in_reply_to: sent.id, sequence: 0,
               quick_replies: [{title: '确认', payload: 'yes'}, {title: '取消', payload: 'no'}]};
ws.receive(reply);
ws.receive(reply);
assert.strictEqual(ids.log.kids.length, 3);
assert.strictEqual(ids.log.kids[2].textContent, '确认挂失吗？');
assert.strictEqual(ids.choices.kids.length, 2);

// Tapping a quick reply sends its payload and shows its title.
ids.choices.kids[0].listeners.click();
const tapped = ws.sent[2];
assert.strictEqual(tapped.text, 'yes');
assert.strictEqual(ids.log.kids[3].textContent, '确认');
assert.strictEqual(ids.choices.kids.length, 0);

// Enter while an IME candidate is being chosen does not send.
ids.input.value = 'zhong';
ids.input.listeners.keydown({key: 'Enter', isComposing: true, keyCode: 229, preventDefault() {}});
assert.strictEqual(ws.sent.length, 3);

// The connection drops before the ack: reconnect, resume the conversation, resend the same id.
ws.onclose();
assert.ok(ids.status.className.includes('down'));
timers.shift()();
ws = sockets[1];
ws.onopen();
assert.deepStrictEqual(ws.sent[0], {type: 'hello', locale: 'zh-CN', conversation});
ws.receive({type: 'welcome', conversation});
assert.deepStrictEqual(ws.sent[1], {type: 'message', text: 'yes', id: tapped.id});

// An `unavailable` error keeps the message pending and retries it.
ws.receive({type: 'error', code: 'unavailable', id: tapped.id, message: 'later'});
timers.shift()();
assert.deepStrictEqual(ws.sent[2], {type: 'message', text: 'yes', id: tapped.id});
ws.receive({type: 'ack', id: tapped.id});

// A reload restores the transcript and resumes the conversation (English browser this time).
load('en-US');
assert.strictEqual(ids.title.textContent, 'Customer service');
assert.strictEqual(ids.log.kids.length, 3);
sockets[0].onopen();
assert.strictEqual(sockets[0].sent[0].conversation, conversation);
sockets[0].receive({type: 'welcome', conversation});
// "yes" was acked but never answered: it is resent with its id so the bot answers it again.
assert.deepStrictEqual(sockets[0].sent[1], {type: 'message', text: 'yes', id: tapped.id});
sockets[0].receive(reply);
assert.strictEqual(ids.log.kids.length, 3, 'a reply seen before the reload is not shown again');

// A refused conversation starts a clean transcript; the unanswered message is carried over.
sockets[0].receive({type: 'welcome', conversation: 'webchat:ffffffffffffffffffffffffffffffff'});
assert.strictEqual(ids.log.kids.length, 1);

// Once answered, a message is no longer resent after a reconnect.
sockets[0].receive({type: 'reply', text: 'ok', in_reply_to: tapped.id, sequence: 0});
sockets[0].onclose();
timers.shift()();
sockets[1].onopen();
sockets[1].receive({type: 'welcome', conversation: 'webchat:ffffffffffffffffffffffffffffffff'});
assert.strictEqual(sockets[1].sent.length, 1, 'only the hello');
console.log('web chat page script: all checks passed');

// A signed-in page: the token from the page's meta element, or from its own address, goes to
// the WebSocket.
load('en', 'meta.token');
assert.strictEqual(sockets[0].url, 'wss://bank.example/ws?token=meta.token');
load('en', 'meta.token', '?token=url.token');
assert.strictEqual(sockets[0].url, 'wss://bank.example/ws?token=url.token');
