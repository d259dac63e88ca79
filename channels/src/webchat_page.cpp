// The built-in web chat page: HTML, CSS and JS in the binary, no external assets.
#include "webchat_page.hpp"

#include <string_view>

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace teller::channels::detail {
namespace {

constexpr std::string_view kHead = R"page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="teller-token" content="">
<title>Teller</title>
<link rel="icon" href="data:,">
<style>)page";

constexpr std::string_view kStyle = R"page(
:root{--bg:#f4f6f8;--panel:#fff;--me:#0b5cad;--bot:#e9edf1;--text:#1c2430;--muted:#5f6b7a;
--line:#dde2e8}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{background:var(--bg);color:var(--text);display:flex;justify-content:center;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif}
.chat{display:flex;flex-direction:column;width:100%;max-width:640px;height:100%;
background:var(--panel);box-shadow:0 0 12px rgba(0,0,0,.08)}
header{display:flex;align-items:center;gap:.75rem;padding:.75rem 1rem;
border-bottom:1px solid var(--line)}
#title{font-weight:600;flex:1}
.status{font-size:.8rem;color:var(--muted)}
.status::before{content:"\25CF\00A0"}
.status.up::before{color:#1a7f37}
.status.down::before{color:#b42318}
.status.wait::before{color:#b7791f}
header button{font:inherit;font-size:.85rem;background:none;border:1px solid var(--line);
border-radius:.5rem;padding:.2rem .6rem;cursor:pointer;color:var(--muted)}
.log{list-style:none;margin:0;padding:1rem;flex:1;overflow-y:auto;display:flex;
flex-direction:column;gap:.5rem}
.msg{max-width:80%;padding:.5rem .75rem;border-radius:1rem;white-space:pre-wrap;
overflow-wrap:anywhere}
.msg.me{align-self:flex-end;background:var(--me);color:#fff;border-bottom-right-radius:.25rem}
.msg.bot{align-self:flex-start;background:var(--bot);border-bottom-left-radius:.25rem}
.msg.sys{align-self:center;color:var(--muted);font-size:.85rem}
.msg.sending,.msg.retry{opacity:.6}
.msg.retry{font-style:italic}
.msg.failed{background:#b42318}
.choices{display:flex;flex-wrap:wrap;gap:.5rem;padding:0 1rem .5rem}
.choice{border:1px solid var(--me);color:var(--me);background:none;border-radius:1rem;
padding:.3rem .8rem;font:inherit;cursor:pointer}
.choice:hover{background:var(--me);color:#fff}
form{display:flex;gap:.5rem;padding:.75rem 1rem;border-top:1px solid var(--line)}
textarea{flex:1;resize:none;font:inherit;padding:.5rem .75rem;border:1px solid #c5ccd5;
border-radius:.5rem;min-height:2.6rem;max-height:8rem}
button[type=submit]{background:var(--me);color:#fff;border:0;border-radius:.5rem;
padding:0 1.1rem;font:inherit;cursor:pointer}
)page";

constexpr std::string_view kBody = R"page(</style>
</head>
<body>
<main class="chat">
<header><span id="title">Teller</span><span id="status" class="status wait"></span>
<button id="reset" type="button">New chat</button></header>
<ol id="log" class="log" aria-live="polite"></ol>
<div id="choices" class="choices"></div>
<form id="composer" autocomplete="off">
<textarea id="input" rows="1" maxlength="4000" aria-label="message"></textarea>
<button id="send" type="submit">Send</button>
</form>
</main>
<script>)page";

// The web chat client. Protocol: see gateway.hpp. Keeps the conversation id, the transcript and
// unacknowledged messages in localStorage, resends unacknowledged messages (same id) after a
// reconnect, and shows a reply only once per (in_reply_to, sequence).
constexpr std::string_view kScript = R"page(
(function () {
  'use strict';
  var zh = /^zh/i.test(navigator.language || '');
  var T = zh ? {
    title: '在线客服', placeholder: '请输入您的问题…', send: '发送', reset: '新对话',
    connecting: '连接中…', online: '在线', offline: '连接已断开，正在重连…',
    retrying: '暂时无法发送，稍后自动重试', failed: '发送失败：',
    greeting: '您好！我可以帮您挂失或激活银行卡、查询余额，以及办理贷款。请问有什么可以帮您？',
    suggestions: ['我的卡丢了', '查询余额', '车贷月供怎么算']
  } : {
    title: 'Customer service', placeholder: 'Type your question…', send: 'Send',
    reset: 'New chat', connecting: 'Connecting…', online: 'Online',
    offline: 'Disconnected, reconnecting…', retrying: 'Not accepted yet, retrying shortly',
    failed: 'Not sent: ',
    greeting: 'Hello! I can block a lost or stolen card, activate a card, tell you your ' +
              'balance and help with loans. How can I help?',
    suggestions: ['I lost my card', "What's my balance?", 'Monthly payment for a car loan']
  };
  var CONV_KEY = 'teller.webchat.conversation', LOG_KEY = 'teller.webchat.log', MAX_LOG = 200;
  var $ = function (id) { return document.getElementById(id); };
  var logEl = $('log'), choicesEl = $('choices'), input = $('input'), statusEl = $('status');
  var ws = null, ready = false, backoff = 500, retryTimer = null;
  var conversation = load(CONV_KEY) || '';
  var entries = [], pending = [], seen = {}, nodes = {};

  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function store(k, v) {
    try { if (v === null) { localStorage.removeItem(k); } else { localStorage.setItem(k, v); } }
    catch (e) { /* private mode: the chat still works, it just forgets on reload */ }
  }
  function save() {
    store(LOG_KEY, JSON.stringify({conversation: conversation, entries: entries,
                                   pending: pending}));
  }

  function render(e) {
    var li = document.createElement('li');
    li.className = 'msg ' + e.who + (e.state ? ' ' + e.state : '');
    li.textContent = e.text;
    if (e.id) { nodes[e.id] = li; }
    logEl.appendChild(li);
    logEl.scrollTop = logEl.scrollHeight;
  }
  function add(e) {
    entries.push(e);
    if (entries.length > MAX_LOG) { entries.shift(); }
    render(e);
    save();
  }
  function mark(id, state) {
    entries.forEach(function (e) { if (e.id === id) { e.state = state; } });
    if (nodes[id]) { nodes[id].className = 'msg me' + (state ? ' ' + state : ''); }
    save();
  }
  function clearView() {
    entries = []; seen = {}; nodes = {};
    logEl.textContent = '';
    showChoices([]);
  }
  function restore() {
    var saved = null;
    try { saved = JSON.parse(load(LOG_KEY) || 'null'); } catch (e) { saved = null; }
    if (!saved || saved.conversation !== conversation) { return; }
    (saved.entries || []).forEach(function (e) {
      entries.push(e);
      if (e.key) { seen[e.key] = true; }
      render(e);
    });
    pending = saved.pending || [];
    // The buttons offered with the last reply still apply after a reload.
    var last = entries[entries.length - 1];
    if (last && last.who === 'bot') { showChoices(last.choices); }
  }
  // A new chat opens with what the bot can do (shown here, not sent to the bot).
  function greet() {
    if (entries.length > 0) { return; }
    render({who: 'bot', text: T.greeting});
    showChoices(T.suggestions.map(function (s) { return {title: s, payload: s}; }));
  }

  function showChoices(list) {
    choicesEl.textContent = '';
    (list || []).forEach(function (c) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'choice';
      b.textContent = c.title || c.payload;
      b.addEventListener('click', function () { submit(c.payload || c.title, c.title); });
      choicesEl.appendChild(b);
    });
  }
  function status(label, cls) {
    statusEl.textContent = label;
    statusEl.className = 'status ' + cls;
  }
  function newId() {
    return 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  }

  function transmit(p) {
    if (ws && ready) { ws.send(JSON.stringify({type: 'message', text: p.text, id: p.id})); }
  }
  function submit(text, shown) {
    text = String(text || '').trim();
    if (!text) { return; }
    var p = {id: newId(), text: text};
    pending.push(p);
    add({who: 'me', text: shown || text, id: p.id, state: 'sending'});
    showChoices([]);
    transmit(p);
  }

  function onWelcome(m) {
    if (m.conversation !== conversation) {
      // A refused id means a new conversation: start a clean transcript, keep unsent messages.
      var had = conversation !== '';
      conversation = m.conversation;
      store(CONV_KEY, conversation);
      if (had) {
        clearView();
        pending.forEach(function (p) {
          add({who: 'me', text: p.text, id: p.id, state: 'sending'});
        });
      }
      save();
    }
    ready = true;
    backoff = 500;
    status(T.online, 'up');
    pending.forEach(transmit);
  }
  // An acked message stays pending until its reply arrives: if the socket drops in between,
  // it is resent (same id) after reconnecting and the bot sends the same reply again.
  function onAck(id) {
    pending.forEach(function (p) { if (p.id === id) { p.acked = true; } });
    mark(id, '');
  }
  function onReply(m) {
    if (m.in_reply_to) {
      pending = pending.filter(function (p) { return p.id !== m.in_reply_to; });
      save();
    }
    var key = m.in_reply_to ? m.in_reply_to + '#' + (m.sequence || 0) : '';
    if (key && seen[key]) { return; }
    if (key) { seen[key] = true; }
    add({who: 'bot', text: String(m.text || ''), key: key, choices: m.quick_replies || []});
    showChoices(m.quick_replies);
  }
  function onError(m) {
    if (m.code === 'unavailable' && m.id) {
      mark(m.id, 'retry');
      clearTimeout(retryTimer);
      retryTimer = setTimeout(function () { pending.forEach(transmit); }, 2000);
      return;
    }
    if (m.id) {
      pending = pending.filter(function (p) { return p.id !== m.id; });
      mark(m.id, 'failed');
    }
    add({who: 'sys', text: (m.id ? T.failed : '') + String(m.message || m.code)});
  }

  function connect() {
    status(T.connecting, 'wait');
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    // A signed-in customer's token: from the page's own address (?token=, as a bank's site
    // embeds the chat), or the one the gateway put in the page for its demo customer.
    var meta = document.querySelector('meta[name="teller-token"]');
    var token = new URLSearchParams(location.search).get('token') ||
                (meta ? meta.getAttribute('content') : '');
    if (token) { url += '?token=' + encodeURIComponent(token); }
    var sock = new WebSocket(url);
    ws = sock;
    ready = false;
    sock.onopen = function () {
      var hello = {type: 'hello', locale: navigator.language || ''};
      if (conversation) { hello.conversation = conversation; }
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) { return; }
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'welcome') { onWelcome(m); }
      else if (m.type === 'ack') { onAck(m.id); }
      else if (m.type === 'reply') { onReply(m); }
      else if (m.type === 'error') { onError(m); }
    };
    sock.onclose = function () {
      if (ws !== sock) { return; }
      ws = null;
      ready = false;
      status(T.offline, 'down');
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  document.documentElement.lang = zh ? 'zh-CN' : 'en';
  document.title = T.title;
  $('title').textContent = T.title;
  $('send').textContent = T.send;
  $('reset').textContent = T.reset;
  input.placeholder = T.placeholder;

  $('composer').addEventListener('submit', function (e) {
    e.preventDefault();
    submit(input.value);
    input.value = '';
  });
  input.addEventListener('keydown', function (e) {
    // Enter sends, Shift+Enter breaks the line; Enter that confirms an IME candidate does not.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit(input.value);
      input.value = '';
    }
  });
  $('reset').addEventListener('click', function () {
    var old = ws;
    conversation = '';
    pending = [];
    store(CONV_KEY, null);
    store(LOG_KEY, null);
    clearView();
    greet();
    ws = null;
    if (old) { old.close(); }
    backoff = 500;
    connect();
  });

  restore();
  greet();
  connect();
})();
)page";

constexpr std::string_view kTail = "</script>\n</body>\n</html>\n";

WebchatPage build_page() {
    WebchatPage page;
    page.html.reserve(kHead.size() + kStyle.size() + kBody.size() + kScript.size() + kTail.size());
    page.html.append(kHead).append(kStyle).append(kBody).append(kScript).append(kTail);
    page.style_hash = csp_hash(kStyle);
    page.script_hash = csp_hash(kScript);
    return page;
}

}  // namespace

std::string csp_hash(std::string_view content) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(content.data()), content.size(), digest);
    unsigned char encoded[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    const int length = EVP_EncodeBlock(encoded, digest, SHA256_DIGEST_LENGTH);
    return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded), length) + "'";
}

const WebchatPage& webchat_page() {
    static const WebchatPage page = build_page();
    return page;
}

}  // namespace teller::channels::detail
