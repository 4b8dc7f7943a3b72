/*
 * meetplane chat widget, ImbaChat-compatible.
 *
 *   <script src="{base}/imbachat/v1/{widgetId}/widget"></script>
 *   ImbaChat.load({user_id, token, language, position, theme})  -> Promise
 *   imbaApi.openDialog(userId)  (also imbaChat.openDialog / ImbaChat.openDialog)
 *
 * The panel lists the user's direct dialogs and the chats of rooms where the site admitted
 * them as a peer (`siteUserId`). Everything renders inside an open shadow root: the site's CSS does not reach the panel and
 * the panel's CSS does not leak out. No inline scripts, no eval, styles through constructable
 * stylesheets where supported, so a strict CSP only needs this origin in script-src and
 * connect-src. ImbaChat.load() without options is a logged-out visitor: nothing is shown.
 * Neither load() nor openDialog() ever rejects (host pages call them without a catch): a token
 * the server refuses (expired, wrong key) shows the panel in a signed-out state saying why.
 */
(function () {
  'use strict';
  if (window.ImbaChat && window.ImbaChat.meetplane) {
    return;
  }

  var script = document.currentScript;
  var src = new URL(script ? script.src : location.href, location.href);
  var match = src.pathname.match(/^(.*)\/imbachat\/v1\/([^/]+)\/widget$/);
  var api = src.origin + (match ? match[1] : '') + '/imbachat/v1/' + (match ? match[2] : '');

  var TEXT = {
    en: {
      chat: 'Chat', dialogs: 'Dialogs', empty: 'No dialogs yet.', back: 'Back',
      placeholder: 'Write a message…', send: 'Send', close: 'Close', older: 'Older messages',
      noMessages: 'No messages yet.', loading: 'Loading…', offline: 'Reconnecting…',
      expired: 'Your chat session has expired. Reload the page to sign in again.',
      rejected: 'Chat could not sign you in: the site\'s sign-in token was not accepted.',
      unavailable: 'Chat is unavailable right now.'
    },
    ru: {
      chat: 'Чат', dialogs: 'Диалоги', empty: 'Диалогов пока нет.', back: 'Назад',
      placeholder: 'Напишите сообщение…', send: 'Отправить', close: 'Закрыть',
      older: 'Более ранние', noMessages: 'Сообщений пока нет.', loading: 'Загрузка…',
      offline: 'Переподключение…',
      expired: 'Сеанс чата истёк. Обновите страницу, чтобы войти снова.',
      rejected: 'Чат не смог вас авторизовать: токен сайта не принят.',
      unavailable: 'Чат сейчас недоступен.'
    }
  };

  var CSS = [
    ':host{all:initial}',
    '[hidden]{display:none!important}',
    '*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px}',
    '.root{position:fixed;bottom:16px;right:16px;z-index:2147483000;color:#1b1f24}',
    '.root.left{right:auto;left:16px}',
    '.launcher{border:0;border-radius:24px;padding:10px 18px;background:#2457d6;color:#fff;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}',
    '.launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f5a524;outline-offset:2px}',
    '.badge{display:inline-block;min-width:18px;margin-left:6px;padding:0 5px;border-radius:9px;background:#e5484d;color:#fff;font-size:12px;line-height:18px;text-align:center}',
    '.panel{display:flex;flex-direction:column;width:340px;max-width:calc(100vw - 32px);height:460px;max-height:calc(100vh - 96px);margin-bottom:10px;background:#fff;border:1px solid #d0d7de;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.2);overflow:hidden}',
    'header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:#f3f5f8;border-bottom:1px solid #d0d7de;font-weight:600}',
    'header .title{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    'header button{border:0;background:none;cursor:pointer;padding:4px 6px;color:inherit}',
    '.list{flex:1;overflow:auto;margin:0;padding:0;list-style:none}',
    '.dialog{display:flex;gap:10px;align-items:center;width:100%;padding:10px 12px;border:0;border-bottom:1px solid #eef0f3;background:none;text-align:left;cursor:pointer;color:inherit}',
    '.dialog:hover{background:#f6f8fa}',
    '.avatar{width:32px;height:32px;border-radius:50%;background:#c9d3e3;flex:none;object-fit:cover}',
    '.who{flex:1;min-width:0}',
    '.name{display:block;font-weight:600}',
    '.preview{display:block;color:#57606a;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.messages{flex:1;overflow:auto;padding:10px 12px;display:flex;flex-direction:column;gap:8px}',
    '.msg{max-width:85%;padding:6px 10px;border-radius:10px;background:#eef2f7;align-self:flex-start;overflow-wrap:anywhere;white-space:pre-wrap}',
    '.msg.mine{align-self:flex-end;background:#dbe7ff}',
    '.author{display:block;font-size:12px;font-weight:600;color:#2457d6}',
    '.time{display:block;font-size:11px;color:#6e7781;text-align:right}',
    '.note{padding:12px;color:#57606a}',
    '.error{padding:8px 12px;background:#ffebe9;color:#82071e}',
    'form{display:flex;gap:6px;padding:8px;border-top:1px solid #d0d7de}',
    'textarea{flex:1;resize:none;height:38px;padding:8px;border:1px solid #d0d7de;border-radius:6px;color:inherit;background:#fff}',
    'form button,.older{border:0;border-radius:6px;padding:0 12px;background:#2457d6;color:#fff;cursor:pointer}',
    '.older{align-self:center;padding:4px 10px;background:#eef2f7;color:#1b1f24}',
    '.root.dark{color:#e6edf3}',
    '.dark .panel{background:#0d1117;border-color:#30363d}',
    '.dark header{background:#161b22;border-color:#30363d}',
    '.dark .dialog{border-color:#21262d}.dark .dialog:hover{background:#161b22}',
    '.dark .preview,.dark .note{color:#8b949e}',
    '.dark .msg{background:#21262d}.dark .msg.mine{background:#1f3a70}',
    '.dark textarea{background:#0d1117;border-color:#30363d}'
  ].join('\n');

  var st = {
    token: null, me: null, t: TEXT.en, ui: null, dialogs: [], rooms: [], current: null, oldest: null,
    socket: null, retry: 0, ready: null
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function call(method, path, body) {
    return fetch(api + path, {
      method: method,
      mode: 'cors',
      credentials: 'omit',
      headers: body === undefined
        ? { Authorization: 'Bearer ' + st.token }
        : { Authorization: 'Bearer ' + st.token, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data && (data.detail || data.title)) || 'HTTP ' + r.status);
          err.code = data && data.code;
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  /* A conversation: a direct dialog, or a room's chat where the user is a peer. */
  function base(c) {
    return c.room ? '/rooms/' + c.room.split('/').map(encodeURIComponent).join('/') : '/dialogs/' + c.id;
  }

  /* What a failed call means to the user; a refused token is said plainly. */
  function describe(err) {
    if (err && err.code === 'user_token_expired') { return st.t.expired; }
    if (err && err.status === 401) { return st.t.rejected; }
    return err ? (err.message || String(err)) : '';
  }

  function showError(err) {
    if (!st.ui) { return; }
    if (err && err.status === 401) { return signedOut(err); }
    st.ui.error.hidden = !err;
    st.ui.error.textContent = describe(err);
  }

  /* The server refused the user's token: say why in the panel, stop the socket. */
  function signedOut(err) {
    var ui = st.ui;
    st.me = null;
    st.current = null;
    var ws = st.socket;
    st.socket = null;
    if (ws) { ws.close(); }
    ui.root.classList.add('signed-out');
    ui.title.textContent = st.t.chat;
    ui.back.hidden = true;
    ui.list.hidden = true;
    ui.messages.hidden = true;
    ui.form.hidden = true;
    ui.error.hidden = true;
    ui.note.hidden = false;
    ui.note.setAttribute('role', 'alert');
    ui.note.textContent = describe(err);
    ui.badge.hidden = false;
    ui.badge.textContent = '!';
  }

  function avatar(user) {
    if (user && user.avatarUrl && /^https?:/i.test(user.avatarUrl)) {
      var img = el('img', 'avatar');
      img.alt = '';
      img.src = user.avatarUrl;
      return img;
    }
    return el('span', 'avatar');
  }

  function build(opts) {
    // A custom element: the site's `div`, `section`… rules cannot match the host, and the
    // CSSOM reset (allowed under CSP, unlike a style attribute) beats its `*` rules.
    var host = el('meetplane-chat');
    host.id = 'meetplane-imbachat';
    host.style.setProperty('all', 'initial');
    var shadow = host.attachShadow({ mode: 'open' });
    if (shadow.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.appendChild(el('style', null, CSS));
    }
    var root = el('div', 'root');
    if (opts.position === 'left') { root.classList.add('left'); }
    if (opts.theme === 'dark') { root.classList.add('dark'); }
    root.setAttribute('lang', opts.language || 'en');
    var panel = el('section', 'panel');
    panel.hidden = true;
    panel.setAttribute('aria-label', st.t.chat);
    var head = el('header');
    var back = el('button', 'back', '‹');
    back.setAttribute('aria-label', st.t.back);
    var title = el('span', 'title', st.t.dialogs);
    var close = el('button', 'close', '×');
    close.setAttribute('aria-label', st.t.close);
    head.append(back, title, close);
    var error = el('div', 'error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    var note = el('div', 'note', st.t.loading);
    var list = el('ul', 'list');
    var messages = el('div', 'messages');
    messages.setAttribute('aria-live', 'polite');
    var form = el('form');
    var input = el('textarea');
    input.setAttribute('aria-label', st.t.placeholder);
    input.placeholder = st.t.placeholder;
    input.maxLength = 4000;
    var send = el('button', 'send', st.t.send);
    send.type = 'submit';
    form.append(input, send);
    panel.append(head, error, note, list, messages, form);
    var launcher = el('button', 'launcher', st.t.chat);
    launcher.setAttribute('aria-expanded', 'false');
    var badge = el('span', 'badge');
    badge.hidden = true;
    launcher.appendChild(badge);
    root.append(panel, launcher);
    shadow.appendChild(root);
    document.body.appendChild(host);

    launcher.addEventListener('click', function () { toggle(panel.hidden); });
    close.addEventListener('click', function () { toggle(false); });
    back.addEventListener('click', function () { showList(); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = input.value;
      if (!text.trim() || !st.current) { return; }
      send.disabled = true;
      var c = st.current;
      call('POST', base(c) + '/messages', { text: text }).then(function (r) {
        input.value = '';
        if (c.room) { receiveRoom(c.room, r.message); } else { receive(c.id, r.message); }
      }, showError).then(function () { send.disabled = false; input.focus(); });
    });
    st.ui = {
      host: host, root: root, panel: panel, title: title, back: back, error: error, note: note, list: list,
      messages: messages, form: form, input: input, launcher: launcher, badge: badge
    };
  }

  function toggle(open) {
    st.ui.panel.hidden = !open;
    st.ui.launcher.setAttribute('aria-expanded', String(open));
    if (open && st.current) { markRead(st.current); }
  }

  function renderBadge() {
    if (!st.me) { return; }
    var total = st.dialogs.reduce(function (n, d) { return n + (d.unread || 0); }, 0);
    st.ui.badge.hidden = total === 0;
    st.ui.badge.textContent = String(total);
  }

  function renderList() {
    var ui = st.ui;
    ui.list.textContent = '';
    st.rooms.forEach(function (r) {
      var item = el('li');
      var b = el('button', 'dialog room');
      b.dataset.room = r.room;
      var who = el('span', 'who');
      who.append(el('span', 'name', '# ' + r.room.split('/').pop()),
        el('span', 'preview', r.lastMessage ? r.lastMessage.fromName + ': ' + r.lastMessage.text : r.room));
      b.append(el('span', 'avatar'), who);
      b.addEventListener('click', function () { showDialog(r); });
      item.appendChild(b);
      ui.list.appendChild(item);
    });
    st.dialogs.forEach(function (d) {
      var item = el('li');
      var b = el('button', 'dialog');
      b.dataset.dialogId = String(d.id);
      b.dataset.userId = d.with.userId;
      var who = el('span', 'who');
      who.append(el('span', 'name', d.with.name),
        el('span', 'preview', d.lastMessage ? d.lastMessage.text : ''));
      b.append(avatar(d.with), who);
      if (d.unread) { b.appendChild(el('span', 'badge', String(d.unread))); }
      b.addEventListener('click', function () { showDialog(d); });
      item.appendChild(b);
      ui.list.appendChild(item);
    });
    if (!st.current) {
      ui.note.hidden = st.dialogs.length + st.rooms.length > 0;
      ui.note.textContent = st.t.empty;
    }
    renderBadge();
  }

  function showList() {
    st.current = null;
    var ui = st.ui;
    ui.title.textContent = st.t.dialogs;
    ui.back.hidden = true;
    ui.list.hidden = false;
    ui.messages.hidden = true;
    ui.form.hidden = true;
    renderList();
  }

  function messageNode(m) {
    var mine = m.peerId ? (st.current && m.peerId === st.current.peerId) : (st.me && m.from === st.me.userId);
    var node = el('div', mine ? 'msg mine' : 'msg');
    node.dataset.messageId = String(m.id);
    node.append(el('span', 'author', m.fromName), document.createTextNode(m.text),
      el('time', 'time', new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    return node;
  }

  function loadMessages(d, before) {
    var q = '?count=30' + (before ? '&before=' + before : '');
    return call('GET', base(d) + '/messages' + q).then(function (r) {
      if (st.current !== d) { return; }
      var box = st.ui.messages;
      var older = box.querySelector('.older');
      if (older) { older.remove(); }
      var first = box.firstChild;
      r.messages.slice().reverse().forEach(function (m) { box.insertBefore(messageNode(m), first); });
      if (r.more && r.messages.length) {
        var more = el('button', 'older', st.t.older);
        more.type = 'button';
        var oldest = r.messages[r.messages.length - 1].id;
        more.addEventListener('click', function () { loadMessages(d, oldest).catch(showError); });
        box.insertBefore(more, box.firstChild);
      }
      if (!before) { box.scrollTop = box.scrollHeight; }
      st.ui.note.hidden = box.querySelector('.msg') !== null;
      st.ui.note.textContent = st.t.noMessages;
    });
  }

  function showDialog(d) {
    st.current = d;
    var ui = st.ui;
    ui.title.textContent = d.room ? '# ' + d.room.split('/').pop() : d.with.name;
    ui.back.hidden = false;
    ui.list.hidden = true;
    ui.messages.hidden = false;
    ui.messages.textContent = '';
    ui.form.hidden = false;
    ui.note.hidden = false;
    ui.note.textContent = st.t.loading;
    toggle(true);
    ui.input.focus();
    return loadMessages(d).then(function () { markRead(d); }, showError);
  }

  function markRead(d) {
    if (d.room || !d.unread) { return; }
    d.unread = 0;
    renderBadge();
    call('POST', '/dialogs/' + d.id + '/read', {}).catch(showError);
  }

  function upsert(d) {
    st.dialogs = st.dialogs.filter(function (x) { return x.id !== d.id; });
    st.dialogs.unshift(d);
    return d;
  }

  function receive(dialogId, m) {
    var d = st.dialogs.find(function (x) { return x.id === dialogId; });
    if (!d) { return refreshDialogs(); }
    if (d.lastMessage && d.lastMessage.id >= m.id && st.ui.messages.querySelector('[data-message-id="' + m.id + '"]')) {
      return;
    }
    d.lastMessage = m;
    upsert(d);
    var viewing = st.current && st.current.id === dialogId;
    if (viewing) {
      if (!st.ui.messages.querySelector('[data-message-id="' + m.id + '"]')) {
        st.ui.messages.appendChild(messageNode(m));
        st.ui.messages.scrollTop = st.ui.messages.scrollHeight;
        st.ui.note.hidden = true;
      }
      if (!st.ui.panel.hidden) { markRead(d); } else if (m.from !== st.me.userId) { d.unread += 1; }
    } else if (m.from !== st.me.userId) {
      d.unread = (d.unread || 0) + 1;
    }
    if (st.current) { renderBadge(); } else { renderList(); }
  }

  function receiveRoom(room, m) {
    var r = st.rooms.find(function (x) { return x.room === room; });
    if (!r) { return refreshDialogs(); }
    r.lastMessage = m;
    if (st.current === r) {
      if (!st.ui.messages.querySelector('[data-message-id="' + m.id + '"]')) {
        st.ui.messages.appendChild(messageNode(m));
        st.ui.messages.scrollTop = st.ui.messages.scrollHeight;
        st.ui.note.hidden = true;
      }
    } else if (!st.current) {
      renderList();
    }
  }

  function refreshDialogs() {
    return Promise.all([call('GET', '/dialogs?count=100'), call('GET', '/rooms')]).then(function (all) {
      var r = all[0];
      st.rooms = all[1].rooms.map(function (fresh) {
        var old = st.rooms.find(function (x) { return x.room === fresh.room; });
        fresh.lastMessage = old && old.lastMessage;
        return fresh;
      });
      st.dialogs = r.dialogs;
      if (st.current && st.current.room) {
        st.current = st.rooms.find(function (x) { return x.room === st.current.room; }) || st.current;
        renderBadge();
      } else if (st.current) {
        var fresh = st.dialogs.find(function (x) { return x.id === st.current.id; });
        if (fresh) { st.current = fresh; }
        renderBadge();
      } else {
        renderList();
      }
    }, showError);
  }

  function connect() {
    var url = api.replace(/^http/, 'ws') + '/socket?token=' + encodeURIComponent(st.token);
    var ws = new WebSocket(url);
    st.socket = ws;
    ws.addEventListener('open', function () {
      if (st.retry > 0) { refreshDialogs(); }
      st.retry = 0;
      showError(null);
    });
    ws.addEventListener('message', function (e) {
      if (st.socket !== ws) { return; }
      var data;
      try { data = JSON.parse(e.data); } catch (_) { return; }
      if (data.type === 'message') { receive(data.dialogId, data.message); }
      if (data.type === 'roomMessage') { receiveRoom(data.room, data.message); }
      if (data.type === 'lagged') { refreshDialogs(); }
    });
    ws.addEventListener('close', function () {
      if (st.socket !== ws) { return; }
      st.retry = Math.min(st.retry + 1, 6);
      if (st.retry > 2) { showError(new Error(st.t.offline)); }
      setTimeout(reconnect, 500 * Math.pow(2, st.retry));
    });
  }

  /* A socket refused for an expired token only says "closed": ask /me before retrying. */
  function reconnect() {
    call('GET', '/me').then(connect, function (err) {
      if (err.status === 401) { signedOut(err); } else { connect(); }
    });
  }

  function load(opts) {
    if (st.ready) { return st.ready; }
    if (!opts || !(opts.token || opts.user_key)) {
      // A logged-out visitor: nothing to show.
      st.ready = Promise.resolve({ loggedIn: false });
      return st.ready;
    }
    st.token = opts.token || opts.user_key;
    st.t = TEXT[opts.language] || TEXT.en;
    st.ready = new Promise(function (resolve) {
      if (document.body) { resolve(); } else { document.addEventListener('DOMContentLoaded', resolve); }
    }).then(function () {
      return call('GET', '/me');
    }).then(function (r) {
      st.me = r.user;
      build(opts);
      showList();
      connect();
      return refreshDialogs().then(function () { return { loggedIn: true, user: st.me }; });
    }, function (err) {
      // Resolved, not rejected: the panel says what went wrong.
      build(opts);
      signedOut(err.status === 401 ? err : { message: st.t.unavailable + (err.message ? ' (' + err.message + ')' : '') });
      return { loggedIn: false, error: { code: err.code || null, message: describe(err) } };
    });
    return st.ready;
  }

  /* Resolves {opened: true} or, with the reason shown in the panel, {opened: false, error}. */
  function openDialog(userId) {
    if (!st.ready) {
      return Promise.resolve({ opened: false, error: 'call ImbaChat.load() first' });
    }
    return st.ready.then(function (r) {
      if (!r.loggedIn) {
        if (st.ui) { toggle(true); }
        return { opened: false, error: r.error ? r.error.message : 'a logged-out visitor has no dialogs' };
      }
      return call('POST', '/dialogs', { userId: userId }).then(function (created) {
        var existing = st.dialogs.find(function (x) { return x.id === created.dialog.id; });
        return showDialog(upsert(existing || created.dialog));
      }).then(function () { return { opened: true }; });
    }).catch(function (err) {
      showError(err);
      if (st.ui) { toggle(true); }
      return { opened: false, error: describe(err) };
    });
  }

  var chat = {
    meetplane: true,
    load: load,
    openDialog: openDialog,
    open: function () { if (st.ui) { toggle(true); } },
    close: function () { if (st.ui) { toggle(false); } }
  };
  window.ImbaChat = chat;
  window.imbaChat = chat;
  window.imbaApi = window.imbaApi || {};
  window.imbaApi.openDialog = openDialog;
})();
