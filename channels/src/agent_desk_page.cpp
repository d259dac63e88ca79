// The built-in agent desk page: HTML, CSS and JS in the binary, no external assets.
#include "agent_desk_page.hpp"

#include <string_view>

#include "webchat_page.hpp"

namespace teller::channels::detail {
namespace {

constexpr std::string_view kHead = R"page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Teller agent desk</title>
<link rel="icon" href="data:,">
<style>)page";

constexpr std::string_view kStyle = R"page(
:root{--bg:#f4f6f8;--panel:#fff;--accent:#0b5cad;--line:#dde2e8;--muted:#5f6b7a;
--text:#1c2430;--cust:#e9edf1;--agent:#0b5cad}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{background:var(--bg);color:var(--text);display:flex;flex-direction:column;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif}
header{display:flex;align-items:center;gap:.75rem;padding:.6rem 1rem;background:var(--panel);
border-bottom:1px solid var(--line)}
header h1{font-size:1rem;margin:0;flex:1}
#status{font-size:.8rem;color:var(--muted)}
#status.up{color:#1a7f37}
#status.down{color:#b42318}
main{flex:1;display:flex;min-height:0}
aside{width:300px;overflow-y:auto;border-right:1px solid var(--line);background:var(--panel)}
aside h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
margin:.8rem 1rem .3rem}
aside ul{list-style:none;margin:0;padding:0}
aside li{padding:.5rem 1rem;cursor:pointer;border-bottom:1px solid var(--line)}
aside li:hover{background:#f0f4f8}
aside li.sel{background:#e3edf8}
aside li small{display:block;color:var(--muted);overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}
section{flex:1;display:flex;flex-direction:column;min-width:0;background:var(--panel)}
#info{padding:.6rem 1rem;border-bottom:1px solid var(--line);display:flex;gap:.5rem;
align-items:center;flex-wrap:wrap}
#info b{flex:1;overflow-wrap:anywhere}
#log{list-style:none;margin:0;padding:1rem;flex:1;overflow-y:auto;display:flex;
flex-direction:column;gap:.4rem}
#log li{max-width:75%;padding:.4rem .7rem;border-radius:.8rem;white-space:pre-wrap;
overflow-wrap:anywhere}
#log li.customer{align-self:flex-start;background:var(--cust)}
#log li.bot{align-self:flex-start;background:#f6f1dc}
#log li.agent{align-self:flex-end;background:var(--agent);color:#fff}
#log li.sys{align-self:center;color:var(--muted);font-size:.8rem;background:none}
form{display:flex;gap:.5rem;padding:.6rem 1rem;border-top:1px solid var(--line)}
textarea{flex:1;resize:none;font:inherit;padding:.4rem .6rem;border:1px solid #c5ccd5;
border-radius:.4rem;min-height:2.4rem}
button{font:inherit;border-radius:.4rem;border:1px solid var(--accent);background:var(--accent);
color:#fff;padding:.3rem .9rem;cursor:pointer}
button.plain{background:none;color:var(--accent)}
button:disabled{opacity:.45;cursor:default}
input{font:inherit;padding:.25rem .5rem;border:1px solid #c5ccd5;border-radius:.4rem}
.empty{color:var(--muted);padding:.5rem 1rem;font-size:.85rem}
)page";

constexpr std::string_view kBody = R"page(</style>
</head>
<body>
<header><h1>Teller agent desk</h1>
<label>Agent <input id="agent" maxlength="64" size="12"></label>
<button id="connect" class="plain" type="button">Connect</button>
<span id="status" class="down">offline</span></header>
<main>
<aside><h2>Queue</h2><ul id="queue"></ul><h2>Assigned</h2><ul id="assigned"></ul></aside>
<section>
<div id="info"><b id="title">Pick a conversation</b>
<button id="take" type="button" disabled>Take</button>
<button id="close" class="plain" type="button" disabled>Close</button></div>
<ul id="log"></ul>
<form id="composer"><textarea id="text" rows="2" placeholder="Reply to the customer"
disabled></textarea><button id="send" type="submit" disabled>Send</button></form>
</section>
</main>
<script>)page";

constexpr std::string_view kScript = R"page(
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var token = '';
  var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) { token = decodeURIComponent(m[1]); }
  var ws = null, me = '', current = '', backoff = 500, refused = false, seq = 0;
  var convs = {};
  var lines = {};

  function status(text, cls) { var s = $('status'); s.textContent = text; s.className = cls; }
  function label(c) { return c.conversation + ' \u00b7 ' + (c.channel || '?') +
    (c.locale ? ' \u00b7 ' + c.locale : ''); }
  function send(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function renderList() {
    var q = $('queue'), a = $('assigned');
    q.textContent = ''; a.textContent = '';
    Object.keys(convs).map(function (k) { return convs[k]; })
      .sort(function (x, y) { return x.last_activity_ms - y.last_activity_ms; })
      .forEach(function (c) {
        var li = document.createElement('li');
        li.textContent = label(c);
        var small = document.createElement('small');
        var l = lines[c.conversation] || [];
        small.textContent = c.state === 'assigned' ? 'with ' + c.agent :
          (l.length ? l[l.length - 1].text : c.reason);
        li.appendChild(small);
        if (c.conversation === current) { li.className = 'sel'; }
        li.addEventListener('click', function () { select(c.conversation); });
        (c.state === 'assigned' ? a : q).appendChild(li);
      });
    [q, a].forEach(function (list) {
      if (!list.firstChild) {
        var e = document.createElement('li'); e.className = 'empty'; e.textContent = 'none';
        list.appendChild(e);
      }
    });
  }

  function renderCurrent() {
    var c = convs[current], log = $('log');
    log.textContent = '';
    if (!c) {
      $('title').textContent = current ? current + ' (closed)' : 'Pick a conversation';
      $('take').disabled = $('close').disabled = $('text').disabled = $('send').disabled = true;
      return;
    }
    $('title').textContent = label(c) + (c.customer ? ' \u00b7 customer ' + c.customer +
      (c.verified ? ' (verified)' : '') : '') + ' \u00b7 ' +
      (c.state === 'assigned' ? 'with ' + c.agent : 'waiting');
    (lines[current] || []).forEach(function (l) {
      var li = document.createElement('li');
      li.className = l.from === 'agent' || l.from === 'customer' || l.from === 'bot' ? l.from : 'sys';
      li.textContent = l.text;
      li.title = (l.from || '') + (l.at_ms ? ' ' + new Date(l.at_ms).toLocaleTimeString() : '');
      log.appendChild(li);
    });
    log.scrollTop = log.scrollHeight;
    var mine = c.state === 'assigned' && c.agent === me;
    $('take').disabled = c.state === 'assigned';
    $('close').disabled = $('text').disabled = $('send').disabled = !mine;
  }

  function select(id) { current = id; send({type: 'view', conversation: id}); renderList();
    renderCurrent(); }

  function note(text) {
    var li = document.createElement('li'); li.className = 'sys'; li.textContent = text;
    $('log').appendChild(li); $('log').scrollTop = $('log').scrollHeight;
  }

  function onFrame(f) {
    if (f.type === 'snapshot') {
      me = f.agent; convs = {};
      f.conversations.forEach(function (c) { convs[c.conversation] = c; });
      status('online as ' + me, 'up'); backoff = 500;
      if (current && convs[current]) { send({type: 'view', conversation: current}); }
    } else if (f.type === 'update') {
      var c = f.conversation, id = c.conversation;
      if (f.event === 'queued') { lines[id] = f.lines; }
      else { lines[id] = (lines[id] || []).concat(f.lines); }
      if (c.state === 'closed') {
        delete convs[id]; delete lines[id];
        if (id === current) { renderCurrent(); note('Closed (' + (f.reason || '') + ')'); }
        renderList(); return;
      }
      convs[id] = c;
    } else if (f.type === 'transcript') {
      convs[f.conversation.conversation] = f.conversation;
      lines[f.conversation.conversation] = f.lines;
    } else if (f.type === 'error') {
      if (f.code === 'unauthorized') { refused = true; status('refused: ' + f.message, 'down'); }
      note('Error: ' + f.message);
      return;
    } else if (f.type === 'ack') {
      return;
    }
    renderList(); renderCurrent();
  }

  function connect() {
    me = $('agent').value.trim();
    if (!token) { status('no token: open /agent#token=...', 'down'); return; }
    if (!me) { status('enter your name', 'down'); return; }
    try { localStorage.setItem('teller-agent', me); } catch (e) { /* private mode */ }
    if (ws) { var old = ws; ws = null; old.close(); }
    refused = false;
    status('connecting', '');
    var sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') +
      location.host + '/agent/ws');
    ws = sock;
    sock.onopen = function () { sock.send(JSON.stringify({type: 'hello', token: token, agent: me})); };
    sock.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (x) { return; }
      if (sock === ws) { onFrame(f); }
    };
    sock.onclose = function () {
      if (sock !== ws) { return; }
      ws = null;
      if (refused) { return; }
      status('offline, reconnecting', 'down');
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 15000);
    };
  }

  $('take').addEventListener('click', function () {
    send({type: 'join', conversation: current, id: 'j' + (++seq)});
  });
  $('close').addEventListener('click', function () {
    send({type: 'close', conversation: current, id: 'c' + (++seq)});
  });
  function reply() {
    var text = $('text').value;
    if (!text.trim() || !current) { return; }
    if (send({type: 'message', conversation: current, text: text, id: 'm' + (++seq)})) {
      $('text').value = '';
    }
  }
  $('composer').addEventListener('submit', function (e) { e.preventDefault(); reply(); });
  $('text').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault(); reply();
    }
  });
  $('connect').addEventListener('click', connect);
  try { $('agent').value = localStorage.getItem('teller-agent') || ''; } catch (e) { /* none */ }
  renderList();
  if ($('agent').value) { connect(); } else { status('enter your name, then Connect', 'down'); }
})();
)page";

constexpr std::string_view kTail = "</script>\n</body>\n</html>\n";

AgentDeskPage build_page() {
    AgentDeskPage page;
    page.html.reserve(kHead.size() + kStyle.size() + kBody.size() + kScript.size() + kTail.size());
    page.html.append(kHead).append(kStyle).append(kBody).append(kScript).append(kTail);
    page.style_hash = csp_hash(kStyle);
    page.script_hash = csp_hash(kScript);
    return page;
}

}  // namespace

const AgentDeskPage& agent_desk_page() {
    static const AgentDeskPage page = build_page();
    return page;
}

}  // namespace teller::channels::detail
