/* Boardroom browser board: plain JavaScript, no build step.
 *
 * Wire contract: REST for accounts (/api/v1/auth/*), Socket.IO for everything else. Every
 * client event is emitted with an ack; mutations carry a client-generated op_id and their ack
 * carries the project's seq. The server broadcasts every committed change of a joined project
 * as an "event" with a gapless per-project seq, to everyone in the room including the sender.
 *
 * Consistency model of the board (see applyInOrder):
 *   - board.lastSeq is the seq of the last change applied to the local copy.
 *   - Events (and the results of our own mutation acks, turned into the same shape) are queued
 *     by seq and applied strictly in seq order; anything at or below lastSeq is a duplicate.
 *   - Events that arrive before the project:join ack wait in the same queue; the snapshot sets
 *     lastSeq and everything it already contains is dropped.
 *   - A gap that does not fill within GAP_RESYNC_MS (a lost message) triggers a fresh join.
 *   - After a reconnect the project is joined again with since_seq = lastSeq: the server
 *     replays exactly the missed events, or answers with a fresh snapshot (mode "reset").
 */
(function () {
  'use strict';

  const API = '/api/v1';
  const STORAGE_KEY = 'boardroom.session';
  const ACK_TIMEOUT_MS = 10000;
  const GAP_RESYNC_MS = 3000;
  const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  // ---------------------------------------------------------------------------------------
  // Small helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) el.append(child);
    }
    return el;
  }

  /** An op_id: 32 random hex digits (crypto.randomUUID needs a secure context; this does not). */
  function newOpId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'op-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** Order keys compare as plain strings (byte order), never with localeCompare. */
  function byPosition(a, b) {
    if (a.position < b.position) return -1;
    if (a.position > b.position) return 1;
    if (a.id < b.id) return -1;
    if (a.id > b.id) return 1;
    return 0;
  }

  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || `Request failed (${status})`);
      this.status = status;
      this.code = (error && error.code) || 'unknown';
      this.details = error && error.details;
    }
  }

  /** A readable message, with the offending fields of an invalid_payload error. */
  function describeError(err) {
    if (!(err instanceof ApiError)) return err && err.message ? err.message : String(err);
    if (err.code === 'invalid_payload' && Array.isArray(err.details) && err.details.length) {
      const fields = err.details
        .map((d) => `${d.field}: ${d.message}`)
        .join('; ');
      return `${err.message} (${fields})`;
    }
    return err.message;
  }

  // ---------------------------------------------------------------------------------------
  // Session (kept in sessionStorage: one login per tab, gone when the tab closes)

  let auth = loadSession();

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
      return s && s.access_token && s.refresh_token ? s : null;
    } catch (_) {
      return null;
    }
  }

  function saveSession(reply) {
    auth = {
      user: reply.user,
      access_token: reply.access_token,
      refresh_token: reply.refresh_token,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
    if (reply.device_token) rememberDevice(reply.user.email, reply.device_token);
  }

  // Device tokens (kept in localStorage, per address): this browser logged in to the account
  // before, so its logins are not throttled with strangers' failed attempts.
  const DEVICE_KEY = 'boardroom.devices';

  function rememberDevice(email, token) {
    try {
      const devices = JSON.parse(localStorage.getItem(DEVICE_KEY) || '{}');
      devices[email.toLowerCase()] = token;
      localStorage.setItem(DEVICE_KEY, JSON.stringify(devices));
    } catch (_) {
      /* storage unavailable: logins simply count as from an unknown device */
    }
  }

  function deviceTokenFor(email) {
    try {
      return JSON.parse(localStorage.getItem(DEVICE_KEY) || '{}')[email.toLowerCase()] || null;
    } catch (_) {
      return null;
    }
  }

  function clearSession() {
    auth = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  // ---------------------------------------------------------------------------------------
  // REST

  async function post(path, body) {
    let res;
    try {
      res = await fetch(API + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, {
        code: 'network',
        message: 'Cannot reach the server. Check your connection and try again.',
      });
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      /* not JSON */
    }
    if (!res.ok) throw new ApiError(res.status, data && data.error);
    return data;
  }

  let refreshing = null;

  /** Rotate the refresh token once, however many callers ask at the same time. */
  function refreshSession() {
    if (!refreshing) {
      const token = auth && auth.refresh_token;
      refreshing = (async () => {
        if (!token) throw new ApiError(401, { code: 'unauthorized', message: 'Not logged in.' });
        const reply = await post('/auth/refresh', { refresh_token: token });
        saveSession(reply);
        return reply;
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  // ---------------------------------------------------------------------------------------
  // Socket.IO connection and status

  let socket = null;
  let unauthorizedStreak = 0;
  let retryTimer = null;

  const STATUS_TEXT = {
    connecting: 'Connecting…',
    online: 'Live',
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
  };

  function setStatus(state, text) {
    const el = byTestId('connection-status');
    el.dataset.state = state;
    $('.conn-label', el).textContent = text || STATUS_TEXT[state];
    el.title = state === 'online' ? 'Connected: changes appear live' : text || STATUS_TEXT[state];
  }

  function connectSocket() {
    if (socket) return;
    setStatus('connecting');
    socket = io(window.location.origin, {
      transports: ['websocket'],
      auth: { token: auth.access_token },
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onConnectError);
    socket.on('event', onProjectEvent);
    socket.on('presence', onPresence);
    // Logout (here or on another device of this login) or a stolen refresh token ended it.
    socket.on('session:ended', () => signedOut('Your session has ended. Please log in again.'));
    // The access token this socket opened with has expired: renew it without reconnecting.
    socket.on('session:expired', renewSocketSession);
    // This user's access changed (here or on another device, by an admin or themselves).
    socket.on('access:revoked', onAccessRevoked);
    socket.on('notification', onNotification);
    socket.on('access:changed', onAccessChanged);
    socket.io.on('reconnect_attempt', showWaiting);
  }

  /** Lost projects: close the open one if it is among them, and show the lists again. */
  function onAccessRevoked(notice) {
    const lost = new Set(notice.project_ids || []);
    const workspaceGone = notice.reason === 'removed' || notice.reason === 'left';
    if (board && lost.has(board.projectId)) {
      const name = board.project ? board.project.name : 'this board';
      const home = workspaceGone || !board.project ? '#/' : `#/w/${board.project.workspace_id}`;
      board = null; // the server has already taken this socket out of the room
      byTestId('board').replaceChildren();
      notify(`You no longer have access to ${name}.`, 'info');
      window.location.hash = home;
      return;
    }
    if (notice.reason === 'removed') notify('You were removed from a workspace.', 'info');
    if (!board) route(); // the home view: list workspaces and projects again
  }

  /** A new role: the open board joins again to learn it (and shows what it allows). */
  function onAccessChanged(notice) {
    if (notice.reason === 'invited') notify('You were added to a workspace.', 'info');
    if (board) {
      if (notice.project_id && notice.project_id !== board.projectId) return;
      if (socket && socket.connected && !board.joining) join(board);
    } else {
      route();
    }
  }

  async function renewSocketSession() {
    try {
      const session = await refreshSession();
      socket.auth = { token: session.access_token }; // for the next reconnect too
      const reply = await socket.timeout(10000).emitWithAck('session:renew', {
        access_token: session.access_token,
      });
      if (!reply.ok) throw new Error(reply.error.message);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 400)) {
        signedOut('Your session has ended. Please log in again.');
      }
      // Otherwise the server disconnects us after the grace period and the reconnect path
      // refreshes the token again.
    }
  }

  function disconnectSocket() {
    for (const item of waiting.splice(0)) {
      item.reject(new ApiError(0, { message: 'Signed out: the change was not sent.' }));
    }
    clearTimeout(retryTimer);
    if (socket) {
      socket.off();
      socket.io.off();
      socket.disconnect();
      socket = null;
    }
    setStatus('offline');
  }

  /** Connect again later, with the current access token (used when socket.io itself won't). */
  function reconnectSoon(delayMs) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!socket || socket.connected || !auth) return;
      socket.auth = { token: auth.access_token };
      socket.connect();
    }, delayMs);
  }

  function onConnect() {
    unauthorizedStreak = 0;
    setStatus('online');
    sendWaiting();
    loadNotifications();
    // Initial connect and every reconnect: (re)load what is on screen. For a board this is a
    // fresh join, which resynchronizes anything missed while disconnected.
    route();
  }

  function onDisconnect(reason) {
    if (board) {
      // Events are buffered until the next join answers; a join in flight is abandoned.
      board.ready = false;
      board.joining = null;
      board.joinGen += 1;
      // Who else is here is unknown while offline: the next join's presence tells again.
      board.presence = [];
      renderPresence();
    }
    if (reason === 'io client disconnect') return;
    setStatus('reconnecting');
    showWaiting();
    if (reason === 'io server disconnect') {
      // The server closed this session (e.g. it is shutting down); socket.io won't retry.
      reconnectSoon(1000);
    }
  }

  async function onConnectError(err) {
    if (socket && socket.active) {
      // A transport problem: socket.io retries by itself with back-off.
      setStatus('reconnecting');
      return;
    }
    // The server refused the connection (socket.io does not retry these).
    const code = err && err.data && err.data.code;
    if (code !== 'unauthorized') {
      setStatus('offline', (err && err.message) || STATUS_TEXT.offline);
      reconnectSoon(5000);
      return;
    }
    // The access token was refused (expired, or signed by a key the server no longer has):
    // rotate the refresh token and connect again. Twice in a row means refreshing won't help.
    if (unauthorizedStreak >= 2) {
      signedOut('Your session has ended. Please log in again.');
      return;
    }
    setStatus('connecting', 'Renewing session…');
    try {
      await refreshSession();
    } catch (refreshErr) {
      if (refreshErr instanceof ApiError && (refreshErr.status === 401 || refreshErr.status === 400)) {
        signedOut('Your session has ended. Please log in again.');
      } else {
        // Unreachable, overloaded or rate limited: keep the tokens and try again later.
        setStatus('offline');
        reconnectSoon(3000);
      }
      return;
    }
    unauthorizedStreak += 1;
    reconnectSoon(0);
  }

  /** Emit with an ack; resolves with the reply, rejects with ApiError on {ok:false}/timeout. */
  async function request(event, payload) {
    // A change (it carries an op_id) made while disconnected, or whose answer was lost with
    // the connection, waits and is sent again on reconnect with the same op_id: the server
    // applies it once, so no local edit is lost and none is doubled.
    const isChange = Boolean(payload && typeof payload.op_id === 'string');
    if (!socket || !socket.connected) {
      if (isChange) return waitToSend(event, payload);
      throw new ApiError(0, {
        code: 'offline',
        message: 'Not connected to the server right now. Try again in a moment.',
      });
    }
    let reply;
    try {
      reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch (_) {
      if (isChange && (!socket || !socket.connected)) return waitToSend(event, payload);
      throw new ApiError(0, {
        code: 'timeout',
        message: 'The server did not answer in time. Your change may not have been saved.',
      });
    }
    return checked(reply);
  }

  function checked(reply) {
    if (!reply || reply.ok !== true) {
      throw new ApiError(0, (reply && reply.error) || { message: 'Unexpected reply.' });
    }
    return reply;
  }

  // Changes waiting for the connection, oldest first.
  const waiting = [];

  function waitToSend(event, payload) {
    return new Promise((resolve, reject) => {
      waiting.push({ event, payload, resolve, reject });
      showWaiting();
    });
  }

  function showWaiting() {
    if (socket && socket.connected) return;
    const n = waiting.length;
    setStatus('reconnecting', n ? `Reconnecting… ${n} change${n === 1 ? '' : 's'} waiting` : undefined);
  }

  /** Send the waiting changes in order; stop (keeping the rest) if the connection drops. */
  async function sendWaiting() {
    while (waiting.length && socket && socket.connected) {
      const item = waiting[0];
      let reply;
      try {
        reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(item.event, item.payload);
      } catch (_) {
        return; // the next connect tries again, with the same op_id
      }
      waiting.shift();
      try {
        item.resolve(checked(reply));
      } catch (err) {
        item.reject(err);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Notices and announcements

  /** A toast; `action` ({label, run}) adds a button, e.g. Undo, that also dismisses it. */
  function notify(message, kind = 'error', action = null) {
    const box = byTestId('notices');
    const toast = h(
      'div',
      { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'notice' },
      h('span', { text: message }),
      action
        ? h('button', {
            type: 'button',
            class: 'btn btn-small',
            'data-testid': 'notice-action',
            text: action.label,
            onclick: () => {
              toast.remove();
              action.run();
            },
          })
        : null,
      h('button', {
        type: 'button',
        class: 'toast-close',
        'aria-label': 'Dismiss',
        text: '×',
        onclick: () => toast.remove(),
      }),
    );
    box.append(toast);
    setTimeout(() => toast.remove(), kind === 'error' || action ? 8000 : 4000);
  }

  function announce(message) {
    const el = byTestId('announcer');
    el.textContent = '';
    // A separate task so screen readers notice a repeated message.
    setTimeout(() => {
      el.textContent = message;
    }, 50);
  }

  function failed(err) {
    notify(describeError(err));
  }

  // ---------------------------------------------------------------------------------------
  // Views and routing (#/, #/w/<workspace id>, #/p/<project id>)

  function showView(name) {
    for (const view of document.querySelectorAll('main > [data-view]')) {
      view.hidden = view.dataset.view !== name;
    }
    document.body.dataset.screen = name;
  }

  function parseRoute() {
    const parts = window.location.hash.replace(/^#\/?/, '').split('/');
    if (parts[0] === 'p' && UUID_RE.test(parts[1] || '')) {
      const task = parts[2] === 't' && UUID_RE.test(parts[3] || '') ? parts[3] : null;
      return { name: 'board', id: parts[1], task };
    }
    if (parts[0] === 'w' && UUID_RE.test(parts[1] || '')) return { name: 'home', id: parts[1] };
    return { name: 'home', id: null };
  }

  function route() {
    byTestId('connection-status').hidden = !auth;
    if (!auth) {
      leaveBoard();
      showView('auth');
      document.title = 'Log in · Boardroom';
      return;
    }
    renderUser();
    connectSocket();
    const r = parseRoute();
    if (r.name === 'board') {
      showView('board');
      openBoard(r.id);
      showCardPanel(r.task);
    } else {
      showCardPanel(null);
      leaveBoard();
      showView('home');
      document.title = 'Boardroom';
      if (socket && socket.connected) loadHome(r.id);
    }
  }

  function renderUser() {
    const who = byTestId('current-user');
    who.textContent = auth.user ? auth.user.display_name : '';
    who.title = auth.user ? auth.user.email : '';
    who.hidden = false;
    byTestId('logout').hidden = false;
    byTestId('bell').hidden = false;
  }

  function signedOut(message) {
    disconnectSocket();
    clearSession();
    leaveBoard();
    workspaces = [];
    inbox.items = [];
    inbox.unread = 0;
    renderInbox();
    toggleInbox(false);
    byTestId('current-user').hidden = true;
    byTestId('logout').hidden = true;
    showAuthError(message || '');
    route();
  }

  // ---------------------------------------------------------------------------------------
  // Log in / create account

  function selectAuthTab(which) {
    for (const name of ['login', 'register']) {
      const tab = document.getElementById(`tab-${name}`);
      const on = name === which;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(`panel-${name}`).hidden = !on;
    }
    showAuthError('');
  }

  function showAuthError(message) {
    const el = byTestId('auth-error');
    el.textContent = message;
    el.hidden = !message;
  }

  async function submitAuth(form, path, body) {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    showAuthError('');
    try {
      const reply = await post(path, body);
      saveSession(reply);
      form.reset();
      route();
      $('#main').focus({ preventScroll: true });
    } catch (err) {
      showAuthError(describeError(err));
    } finally {
      button.disabled = false;
    }
  }

  function setupAuth() {
    const tabs = [byTestId('show-login'), byTestId('show-register')];
    tabs[0].addEventListener('click', () => selectAuthTab('login'));
    tabs[1].addEventListener('click', () => selectAuthTab('register'));
    for (const tab of tabs) {
      tab.addEventListener('keydown', (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        const other = tabs[1 - tabs.indexOf(tab)];
        selectAuthTab(other === tabs[0] ? 'login' : 'register');
        other.focus();
      });
    }

    byTestId('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const email = form.email.value.trim();
      const password = form.password.value;
      if (!email || !password) return showAuthError('Enter your e-mail address and password.');
      const deviceToken = deviceTokenFor(email);
      submitAuth(form, '/auth/login', deviceToken ? { email, password, device_token: deviceToken } : { email, password });
    });

    byTestId('register-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const display_name = form.display_name.value.trim();
      const email = form.email.value.trim();
      const password = form.password.value;
      if (!display_name || !email) return showAuthError('Enter your name and e-mail address.');
      if (password.length < 10) return showAuthError('The password needs at least 10 characters.');
      submitAuth(form, '/auth/register', { email, password, display_name });
    });

    byTestId('logout').addEventListener('click', async () => {
      const token = auth && auth.refresh_token;
      signedOut('');
      if (window.location.hash) window.location.hash = '#/';
      if (token) {
        try {
          await post('/auth/logout', { refresh_token: token });
        } catch (_) {
          /* the tokens are gone from this tab either way */
        }
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Notifications: the bell, its unread count and list, live pushes

  /** A card to focus once its board is on screen (a search result or a notification). */
  let focusTaskOnOpen = null;

  /** Newest first; `unread` is the server's count of unread notifications. */
  const inbox = { items: [], unread: 0 };

  const REASON_TEXT = {
    assigned: (t) => `You were assigned “${t}”`,
    mentioned: (t) => `You were mentioned on “${t}”`,
    commented: (t) => `New comment on “${t}”`,
    changed: (t) => `“${t}” changed`,
    due_soon: (t) => `“${t}” is due soon`,
    overdue: (t) => `“${t}” is overdue`,
  };

  function describeNotification(n) {
    const title = (n.data && n.data.task_title) || 'a card';
    const text = (REASON_TEXT[n.reason] || ((t) => `Activity on “${t}”`))(title);
    const excerpt = n.data && n.data.comment_excerpt;
    return excerpt ? `${text}: ${excerpt}` : text;
  }

  async function loadNotifications() {
    try {
      const reply = await request('notifications:list', { limit: 30 });
      inbox.items = reply.data.notifications;
      inbox.unread = reply.data.unread;
      renderInbox();
    } catch (_) {
      /* the bell stays as it was; the next connect loads it again */
    }
  }

  function onNotification(n) {
    if (inbox.items.some((item) => item.id === n.id)) return; // a push can come twice
    inbox.items = [n, ...inbox.items].slice(0, 100);
    if (!n.read_at) inbox.unread += 1;
    renderInbox();
    announce(describeNotification(n));
  }

  function renderInbox() {
    const bell = byTestId('bell');
    bell.hidden = !auth;
    const badge = byTestId('unread-count');
    badge.hidden = inbox.unread === 0;
    badge.textContent = inbox.unread > 99 ? '99+' : String(inbox.unread);
    bell.setAttribute('aria-label', `Notifications, ${inbox.unread} unread`);
    byTestId('notification-empty').hidden = inbox.items.length > 0;
    byTestId('notification-list').replaceChildren(
      ...inbox.items.map((n) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: n.read_at ? '' : 'unread',
              'data-testid': 'notification',
              onclick: () => openNotification(n),
            },
            h('span', { text: describeNotification(n) }),
            h('time', { datetime: n.created_at, text: new Date(n.created_at).toLocaleString() }),
          ),
        ),
      ),
    );
  }

  async function markRead(payload) {
    const reply = await request('notifications:read', payload);
    const marked = new Set(reply.data.marked);
    const now = new Date().toISOString();
    for (const item of inbox.items) if (payload.all || marked.has(item.id)) item.read_at = item.read_at || now;
    inbox.unread = reply.data.unread;
    renderInbox();
  }

  function openNotification(n) {
    toggleInbox(false);
    if (!n.read_at) markRead({ ids: [n.id] }).catch(failed);
    if (n.task_id) focusTaskOnOpen = n.task_id;
    if (n.project_id) window.location.hash = `#/p/${n.project_id}`;
  }

  function toggleInbox(open) {
    const panel = byTestId('notification-panel');
    const show = open === undefined ? panel.hidden : open;
    panel.hidden = !show;
    byTestId('bell').setAttribute('aria-expanded', String(show));
  }

  function setupInbox() {
    byTestId('bell').addEventListener('click', () => toggleInbox());
    byTestId('mark-all-read').addEventListener('click', () => markRead({ all: true }).catch(failed));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !byTestId('notification-panel').hidden) {
        toggleInbox(false);
        byTestId('bell').focus();
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // The card panel: one task in full (#/p/<project>/t/<task>), live

  const panel = { taskId: null, details: null, names: new Map(), timer: null, load: 0 };
  const LINK_RE = /(https?:\/\/[^\s<>"]+)/g;

  function openCard(taskId) {
    if (board) window.location.hash = `#/p/${board.projectId}/t/${taskId}`;
  }

  function closeCard() {
    if (board) window.location.hash = `#/p/${board.projectId}`;
  }

  /** Show (taskId) or hide (null) the panel; called by the router. */
  function showCardPanel(taskId) {
    const el = byTestId('card-panel');
    if (!taskId) {
      const had = panel.taskId;
      panel.taskId = null;
      panel.details = null;
      el.hidden = true;
      if (had && board && board.taskEls.has(had)) board.taskEls.get(had).focus({ preventScroll: true });
      return;
    }
    const opening = panel.taskId !== taskId;
    panel.taskId = taskId;
    el.hidden = false;
    if (opening) {
      panel.details = null;
      byTestId('card-panel-title').textContent = 'Loading…';
    }
    // On opening, and on each (re)connect while open: what happened meanwhile is read again.
    loadCardPanel().then(() => {
      if (opening) byTestId('card-panel-close').focus();
    });
  }

  function refreshCardPanelSoon() {
    clearTimeout(panel.timer);
    panel.timer = setTimeout(() => loadCardPanel(), 150);
  }

  async function loadCardPanel() {
    const taskId = panel.taskId;
    const b = board;
    if (!taskId || !b) return;
    const load = ++panel.load;
    try {
      if (!socket || !socket.connected) return;
      const [details, history] = await Promise.all([
        request('task:get', { project_id: b.projectId, task_id: taskId }),
        request('task:history', { project_id: b.projectId, task_id: taskId, limit: 20 }),
      ]);
      if (load !== panel.load || panel.taskId !== taskId) return;
      if (!panel.names.size && b.project) await loadNames(b.project.workspace_id);
      panel.details = details.data;
      renderCardPanel(details.data, history.data.events);
    } catch (err) {
      if (err.code === 'not_found') {
        notify('That card no longer exists.', 'info');
        closeCard();
      } else {
        failed(err);
      }
    }
  }

  /** Display names of the workspace's members, for comment authors (a guest cannot list). */
  async function loadNames(workspaceId) {
    try {
      const reply = await request('member:list', { workspace_id: workspaceId });
      for (const m of reply.data.members) panel.names.set(m.user_id, m.display_name);
    } catch (_) {
      /* authors are then shown without names */
    }
  }

  /** Text with its links made clickable; everything else stays text (never HTML). */
  function linkified(text) {
    const out = [];
    let last = 0;
    for (const match of text.matchAll(LINK_RE)) {
      out.push(text.slice(last, match.index));
      out.push(h('a', { href: match[0], rel: 'noopener noreferrer', target: '_blank', text: match[0] }));
      last = match.index + match[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  function renderCardPanel(details, history) {
    const task = details.task;
    const editable = !readOnly(board);
    byTestId('card-panel-title').textContent = task.archived_at ? `${task.title} (archived)` : task.title;
    byTestId('card-description').replaceChildren(
      ...(task.description ? linkified(task.description) : [h('span', { class: 'muted', text: 'No description.' })]),
    );
    const input = byTestId('card-description-input');
    if (document.activeElement !== input) input.value = task.description || '';
    input.hidden = !editable;
    byTestId('card-description-save').hidden = !editable;
    byTestId('card-due-form').hidden = !editable && !task.due_at;
    const due = byTestId('card-due-input');
    if (document.activeElement !== due) due.value = task.due_at ? toLocalInput(task.due_at) : '';
    due.disabled = !editable;
    byTestId('card-due-save').hidden = !editable;
    byTestId('card-due-clear').hidden = !editable || !task.due_at;
    const items = [...details.checklist].sort(byPosition);
    const done = items.filter((i) => i.done).length;
    byTestId('checklist-progress').textContent = items.length ? `${done}/${items.length}` : '';
    byTestId('checklist').replaceChildren(
      ...items.map((item) =>
        h(
          'li',
          { 'data-testid': 'checklist-item' },
          h('input', {
            type: 'checkbox',
            id: `check-${item.id}`,
            checked: item.done,
            disabled: !editable,
            onchange: (e) => cardChange('checklist:toggle', { item_id: item.id, done: e.target.checked }),
          }),
          h('label', { for: `check-${item.id}`, text: item.text }),
          editable
            ? h('button', {
                type: 'button',
                class: 'icon-btn danger',
                'aria-label': `Delete ${item.text}`,
                text: '×',
                onclick: () => cardChange('checklist:delete', { item_id: item.id }),
              })
            : null,
        ),
      ),
    );
    byTestId('checklist-form').hidden = !editable;
    const me = auth && auth.user ? auth.user.id : null;
    byTestId('comments').replaceChildren(
      ...details.comments.map((c) =>
        h(
          'li',
          { 'data-testid': 'comment' },
          h('strong', { text: c.author_id === me ? 'You' : panel.names.get(c.author_id) || 'A member' }),
          h('p', {}, ...linkified(c.body.replace(MENTION_RE, (m) => `@${panel.names.get(m.slice(2, -1)) || '…'}`))),
        ),
      ),
    );
    byTestId('comment-form').hidden = board && board.role === 'viewer';
    byTestId('card-history').replaceChildren(
      ...history.map((ev) => h('li', { text: `${ev.type.replace('.', ' ')} · ${new Date(ev.at).toLocaleString()}` })),
    );
    byTestId('card-panel-archive').hidden = !editable || Boolean(task.archived_at);
  }

  function toLocalInput(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** A change of the open card; the panel refreshes from the event it causes. */
  async function cardChange(event, fields) {
    const b = board;
    if (!b || !panel.taskId) return null;
    try {
      const reply = await request(event, { op_id: newOpId(), project_id: b.projectId, ...fields });
      refreshCardPanelSoon();
      return reply.data;
    } catch (err) {
      if (err.code === 'conflict') {
        notify('Someone changed this card meanwhile: the panel shows their version; apply yours again.', 'error');
        refreshCardPanelSoon();
      } else {
        failed(err);
      }
      return null;
    }
  }

  function setupCardPanel() {
    byTestId('card-panel-close').addEventListener('click', closeCard);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && panel.taskId && !byTestId('card-panel').hidden) closeCard();
    });
    byTestId('card-description-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const task = panel.details && panel.details.task;
      if (!task) return;
      const description = byTestId('card-description-input').value;
      if (description === (task.description || '')) return;
      cardChange('task:update', { task_id: task.id, base_version: task.version, description });
    });
    byTestId('card-due-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const task = panel.details && panel.details.task;
      const value = byTestId('card-due-input').value;
      if (!task || !value) return;
      cardChange('task:update', { task_id: task.id, base_version: task.version, due_at: new Date(value).toISOString() });
    });
    byTestId('card-due-clear').addEventListener('click', () => {
      const task = panel.details && panel.details.task;
      if (task) cardChange('task:update', { task_id: task.id, base_version: task.version, due_at: null });
    });
    byTestId('checklist-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byTestId('checklist-text');
      const text = input.value.trim();
      if (!text || !panel.taskId) return;
      if (await cardChange('checklist:add', { task_id: panel.taskId, text })) input.value = '';
    });
    byTestId('comment-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byTestId('comment-body');
      const body = input.value.trim();
      if (!body || !panel.taskId) return;
      if (await cardChange('comment:create', { task_id: panel.taskId, body })) input.value = '';
    });
    byTestId('card-panel-archive').addEventListener('click', async () => {
      if (panel.taskId && (await cardChange('task:archive', { task_id: panel.taskId }))) closeCard();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Workspaces and projects

  let workspaces = [];
  let homeLoad = 0;

  async function loadHome(workspaceId) {
    const load = ++homeLoad;
    try {
      const reply = await request('workspace:list', {});
      if (load !== homeLoad) return;
      workspaces = reply.data.workspaces;
      renderWorkspaces(workspaceId);
      if (!workspaceId && workspaces.length) {
        window.location.replace(`#/w/${workspaces[0].id}`);
        return;
      }
      const ws = workspaces.find((w) => w.id === workspaceId);
      if (!ws) {
        renderProjects(null, []);
        byTestId('members').hidden = true;
        return;
      }
      const projects = await request('project:list', { workspace_id: ws.id });
      if (load !== homeLoad) return;
      renderProjects(ws, projects.data.projects);
      await loadMembers(ws, () => load === homeLoad);
    } catch (err) {
      if (load === homeLoad) failed(err);
    }
  }

  function renderWorkspaces(selectedId) {
    const list = byTestId('workspace-list');
    list.replaceChildren(
      ...workspaces.map((ws) =>
        h(
          'li',
          {},
          h('a', {
            href: `#/w/${ws.id}`,
            class: 'nav-link',
            'data-testid': 'workspace',
            'aria-current': ws.id === selectedId ? 'page' : null,
            text: ws.name,
          }),
        ),
      ),
    );
    byTestId('workspace-empty').hidden = workspaces.length > 0;
  }

  // Members: who belongs to the workspace; owners and admins invite, change roles, remove.

  const MANAGES_MEMBERS = new Set(['owner', 'admin']);

  async function loadMembers(ws, current) {
    const section = byTestId('members');
    section.dataset.workspaceId = ws.id;
    if (ws.role === 'guest') {
      section.hidden = false; // a guest may not list members, but may leave
      byTestId('member-list').replaceChildren();
      byTestId('invitation-list').replaceChildren();
      byTestId('invite-form').hidden = true;
      return;
    }
    const reply = await request('member:list', { workspace_id: ws.id });
    if (!current()) return;
    renderMembers(ws, reply.data.members, reply.data.invitations);
  }

  function renderMembers(ws, members, invitations) {
    const mine = ws.role;
    const me = auth && auth.user ? auth.user.id : null;
    const manages = MANAGES_MEMBERS.has(mine);
    byTestId('members').hidden = false;
    byTestId('invite-form').hidden = !manages;
    // Only owners touch owners, and nobody is made an owner except by an owner.
    const roles = mine === 'owner' ? ['owner', 'admin', 'member', 'guest'] : ['admin', 'member', 'guest'];
    byTestId('member-list').replaceChildren(
      ...members.map((m) => {
        const editable = manages && m.user_id !== me && (mine === 'owner' || m.role !== 'owner');
        const role = editable
          ? h(
              'select',
              {
                'data-testid': 'member-role',
                'aria-label': `Role of ${m.display_name}`,
                onchange: (e) => changeMemberRole(ws, m, e.target.value),
              },
              ...roles.map((r) => h('option', { value: r, text: r, selected: r === m.role })),
            )
          : h('span', { class: 'muted', 'data-testid': 'member-role-text', text: m.role });
        return h(
          'li',
          { 'data-testid': 'member' },
          h('span', { class: 'member-name', text: m.display_name }),
          h('span', { class: 'muted small', text: m.email }),
          role,
          editable
            ? h('button', {
                type: 'button',
                class: 'btn btn-small btn-quiet',
                'data-testid': 'member-remove',
                'aria-label': `Remove ${m.display_name}`,
                text: 'Remove',
                onclick: () => removeMember(ws, m),
              })
            : null,
        );
      }),
    );
    byTestId('invitation-list').replaceChildren(
      ...invitations.map((i) =>
        h(
          'li',
          { 'data-testid': 'invitation' },
          h('span', { class: 'member-name', text: i.email }),
          h('span', { class: 'muted small', text: `invited as ${i.role}, waiting for sign-up` }),
        ),
      ),
    );
  }

  async function changeMemberRole(ws, member, role) {
    try {
      await request('member:set_role', { op_id: newOpId(), workspace_id: ws.id, user_id: member.user_id, role });
      announce(`${member.display_name} is now ${role}.`);
    } catch (err) {
      failed(err);
    }
    route(); // show the list as it is now
  }

  async function removeMember(ws, member) {
    if (!window.confirm(`Remove ${member.display_name} from ${ws.name}?`)) return;
    try {
      await request('member:remove', { op_id: newOpId(), workspace_id: ws.id, user_id: member.user_id });
      announce(`${member.display_name} removed.`);
    } catch (err) {
      failed(err);
    }
    route();
  }

  function setupMembers() {
    byTestId('invite-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const workspaceId = byTestId('members').dataset.workspaceId;
      const email = byTestId('invite-email').value.trim();
      const role = byTestId('invite-role').value;
      if (!email || !workspaceId) return;
      try {
        const reply = await request('member:invite', { op_id: newOpId(), workspace_id: workspaceId, email, role });
        byTestId('invite-email').value = '';
        notify(
          reply.data.status === 'added'
            ? `${email} is now a member (${role}).`
            : `${email} is invited as ${role}: they join when they sign up.`,
          'info',
        );
      } catch (err) {
        failed(err);
      }
      route();
    });
    byTestId('leave-workspace').addEventListener('click', async () => {
      const workspaceId = byTestId('members').dataset.workspaceId;
      const ws = workspaces.find((w) => w.id === workspaceId);
      if (!ws || !window.confirm(`Leave ${ws.name}? You lose access to its projects.`)) return;
      try {
        await request('workspace:leave', { op_id: newOpId(), workspace_id: ws.id });
        window.location.hash = '#/';
      } catch (err) {
        failed(err);
      }
    });
  }

  const DEFAULT_COLUMNS = ['To do', 'Doing', 'Done'];

  function renderProjects(ws, projects) {
    byTestId('workspace-title').textContent = ws ? ws.name : 'Projects';
    const hint = byTestId('projects-hint');
    const form = byTestId('project-form');
    form.hidden = !ws;
    const search = byTestId('search-form');
    if (search.dataset.workspaceId !== (ws ? ws.id : '')) clearSearch();
    search.hidden = !ws;
    search.dataset.workspaceId = ws ? ws.id : '';
    form.dataset.workspaceId = ws ? ws.id : '';
    if (!ws) {
      hint.textContent = workspaces.length
        ? 'Choose a workspace to see its projects.'
        : 'Create a workspace to get started: it holds your projects and their boards.';
    } else {
      hint.textContent = projects.length
        ? `${projects.length} project${projects.length === 1 ? '' : 's'} in this workspace.`
        : 'No projects yet. Create the first one below.';
    }
    const sorted = [...projects].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    byTestId('project-list').replaceChildren(
      ...sorted.map((p) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `#/p/${p.id}`, class: 'project-tile', 'data-testid': 'project' },
            h('span', { class: 'project-name', text: p.name }),
            h('span', { class: 'project-meta', text: 'Open board →', 'aria-hidden': 'true' }),
          ),
        ),
      ),
    );
  }

  // Search: the cards and comments of the workspace's projects the user may read.

  const MENTION_RE = /<@[0-9a-f-]{36}>/g;

  function clearSearch() {
    byTestId('search-results').hidden = true;
    byTestId('search-result-list').replaceChildren();
    byTestId('search-query').value = '';
  }

  async function runSearch(workspaceId, q) {
    const reply = await request('search', { workspace_id: workspaceId, q, limit: 20 });
    const results = reply.data.results;
    byTestId('search-results').hidden = false;
    byTestId('search-summary').textContent = results.length
      ? `${results.length} result${results.length === 1 ? '' : 's'} for “${q}”.`
      : `Nothing matches “${q}” (every word must appear; no stemming).`;
    byTestId('search-result-list').replaceChildren(
      ...results.map((r) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              'data-testid': 'search-result',
              onclick: () => {
                focusTaskOnOpen = r.task_id;
                window.location.hash = `#/p/${r.project_id}`;
              },
            },
            h('span', { text: r.kind === 'comment' ? `Comment on “${r.title}”` : r.title }),
            h('time', { text: (r.text || '').replace(MENTION_RE, '@…').slice(0, 160) }),
          ),
        ),
      ),
    );
  }

  function setupSearch() {
    byTestId('search-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const q = byTestId('search-query').value.trim();
      const workspaceId = e.currentTarget.dataset.workspaceId;
      if (!q || !workspaceId) return;
      try {
        await runSearch(workspaceId, q);
      } catch (err) {
        failed(err);
      }
    });
  }

  function setupHome() {
    byTestId('workspace-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byTestId('new-workspace-name');
      const name = input.value.trim();
      if (!name) return input.focus();
      const button = byTestId('create-workspace');
      button.disabled = true;
      try {
        const reply = await request('workspace:create', { op_id: newOpId(), name });
        input.value = '';
        announce(`Workspace ${name} created.`);
        window.location.hash = `#/w/${reply.data.id}`;
      } catch (err) {
        failed(err);
      } finally {
        button.disabled = false;
      }
    });

    byTestId('project-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const input = byTestId('new-project-name');
      const name = input.value.trim();
      if (!name || !form.dataset.workspaceId) return input.focus();
      const button = byTestId('create-project');
      button.disabled = true;
      try {
        const reply = await request('project:create', {
          op_id: newOpId(),
          workspace_id: form.dataset.workspaceId,
          name,
        });
        input.value = '';
        // A new board starts with the usual three columns (rename or delete them freely).
        for (const column of DEFAULT_COLUMNS) {
          await request('column:create', { op_id: newOpId(), project_id: reply.data.id, name: column });
        }
        window.location.hash = `#/p/${reply.data.id}`;
      } catch (err) {
        failed(err);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // The board: state, event queue, rendering

  /** @type {null | {projectId: string, project: object|null, columns: Map, tasks: Map,
   *   lastSeq: number, ready: boolean, pending: Map<number, object>, gapTimer: any,
   *   joining: Promise|null, joinGen: number, columnEls: Map, taskEls: Map}} */
  let board = null;

  function openBoard(projectId) {
    if (board && board.projectId === projectId) {
      // Same board: a reconnect (or a repeated route) joins again to resynchronize.
      if (socket && socket.connected && !board.joining) join(board);
      return;
    }
    leaveBoard();
    board = {
      projectId,
      project: null,
      columns: new Map(),
      tasks: new Map(),
      lastSeq: 0,
      ready: false,
      pending: new Map(),
      gapTimer: null,
      joining: null,
      joinGen: 0,
      columnEls: new Map(),
      taskEls: new Map(),
    };
    byTestId('board').replaceChildren();
    $('.view-board').removeAttribute('data-read-only');
    byTestId('read-only').hidden = true;
    byTestId('board-title').textContent = 'Board';
    byTestId('board-loading').hidden = false;
    byTestId('board-loading').textContent = 'Loading board…';
    byTestId('back-to-projects').href = '#/';
    if (socket && socket.connected) join(board);
  }

  /** Roles that may change columns and cards; the others see the board read-only. */
  const EDITING_ROLES = new Set(['manager', 'editor']);

  function readOnly(b) {
    return Boolean(b && b.role && !EDITING_ROLES.has(b.role));
  }

  function setRole(b, role) {
    const before = b.role;
    b.role = role || null;
    const view = $('.view-board');
    const note = byTestId('read-only');
    view.toggleAttribute('data-read-only', readOnly(b));
    note.hidden = !readOnly(b);
    note.textContent = readOnly(b)
      ? `You are a ${b.role} of this board: you can follow it but not change it.`
      : '';
    if (before && role && before !== role) notify(`Your role on this board is now ${role}.`, 'info');
  }

  function leaveBoard() {
    panel.names = new Map(); // the next board may be of another workspace
    if (!board) return;
    const old = board;
    board = null;
    clearTimeout(old.gapTimer);
    if (socket && socket.connected) {
      request('project:leave', { project_id: old.projectId }).catch(() => {});
    }
    byTestId('board').replaceChildren();
  }

  function join(b) {
    b.ready = false;
    const gen = ++b.joinGen;
    const current = () => board === b && b.joinGen === gen;
    const attempt = (async () => {
      try {
        // A board already on screen asks only for what it missed since its last seq; the
        // server answers with those events (mode "replay") or a fresh snapshot ("reset").
        const payload = { project_id: b.projectId };
        if (b.project) payload.since_seq = b.lastSeq;
        const reply = await request('project:join', payload);
        if (!current()) return;
        if (reply.data.mode === 'replay') {
          catchUp(b, reply.data.events, reply.data.role);
        } else {
          loadSnapshot(b, reply.data);
        }
      } catch (err) {
        if (!current()) return;
        if (err.code === 'not_found' || err.code === 'forbidden') {
          byTestId('board-loading').hidden = false;
          byTestId('board-loading').textContent =
            'This board does not exist or you do not have access to it.';
        } else {
          failed(err);
        }
      } finally {
        if (b.joining === attempt) b.joining = null;
      }
    })();
    b.joining = attempt;
    return attempt;
  }

  function loadSnapshot(b, snap) {
    setRole(b, snap.role);
    b.project = snap.project;
    b.columns = new Map(snap.columns.map((c) => [c.id, c]));
    b.tasks = new Map(snap.tasks.map((t) => [t.id, t]));
    b.lastSeq = snap.seq;
    b.ready = true;
    byTestId('board-loading').hidden = true;
    byTestId('board-title').textContent = snap.project.name;
    byTestId('back-to-projects').href = `#/w/${snap.project.workspace_id}`;
    document.title = `${snap.project.name} · Boardroom`;
    applyInOrder(b); // events buffered during the join: drops seq <= snapshot, applies the rest
    renderBoard();
  }

  function catchUp(b, events, role) {
    setRole(b, role);
    for (const ev of events) {
      if (ev.seq > b.lastSeq && !b.pending.has(ev.seq)) b.pending.set(ev.seq, ev);
    }
    b.ready = true;
    byTestId('board-loading').hidden = true;
    applyInOrder(b);
    renderBoard();
  }

  // Presence: who else has this board open, and which cards they are renaming. The server
  // sends the whole list on every change; it is shown as it comes and never stored.
  function onPresence(data) {
    if (!board || data.project_id !== board.projectId) return;
    board.presence = data.viewers;
    renderPresence();
  }

  function renderPresence() {
    const list = byTestId('presence');
    const viewers = (board && board.presence) || [];
    list.replaceChildren(
      ...viewers.map((v) =>
        h('li', {
          class: 'viewer',
          'data-testid': 'viewer',
          title: v.connections > 1 ? `${v.display_name} (${v.connections} windows)` : v.display_name,
          text: v.connections > 1 ? `${v.display_name} ×${v.connections}` : v.display_name,
        }),
      ),
    );
    const editors = new Map();
    for (const v of viewers) {
      for (const taskId of v.editing) {
        editors.set(taskId, [...(editors.get(taskId) || []), v.display_name]);
      }
    }
    for (const card of document.querySelectorAll('.card')) {
      const names = editors.get(card.dataset.taskId);
      let badge = $('.card-editing', card);
      if (!names) {
        if (badge) badge.remove();
        continue;
      }
      if (!badge) {
        badge = h('span', { class: 'card-editing', 'data-testid': 'card-editing' });
        card.append(badge);
      }
      badge.textContent = `✎ ${names.join(', ')}`;
    }
  }

  function announceEditing(taskId) {
    if (socket && socket.connected && board) {
      socket.emit('presence:set', { project_id: board.projectId, editing_task_id: taskId });
    }
  }

  function onProjectEvent(ev) {
    if (!board || !ev || ev.project_id !== board.projectId) return;
    enqueue(board, ev);
  }

  /** Queue a change by seq (an event, or the result of our own mutation's ack). */
  function enqueue(b, ev) {
    if (typeof ev.seq !== 'number' || ev.seq <= b.lastSeq || b.pending.has(ev.seq)) return;
    b.pending.set(ev.seq, ev);
    if (b.ready && applyInOrder(b)) renderBoard();
  }

  /** Apply queued changes strictly in seq order; watch for a gap that doesn't fill. */
  function applyInOrder(b) {
    let changed = false;
    for (const seq of b.pending.keys()) {
      if (seq <= b.lastSeq) b.pending.delete(seq);
    }
    while (b.pending.has(b.lastSeq + 1)) {
      const ev = b.pending.get(b.lastSeq + 1);
      b.pending.delete(b.lastSeq + 1);
      applyChange(b, ev);
      b.lastSeq += 1;
      changed = true;
    }
    clearTimeout(b.gapTimer);
    b.gapTimer = null;
    if (b.pending.size > 0) {
      // Something in between has not arrived (yet). Normally it does within milliseconds;
      // if it doesn't, the message was lost: reload the board from a fresh snapshot.
      b.gapTimer = setTimeout(() => {
        if (board === b && b.pending.size > 0 && !b.joining && socket && socket.connected) {
          join(b);
        }
      }, GAP_RESYNC_MS);
    }
    return changed;
  }

  function applyChange(b, ev) {
    const d = ev.data || {};
    if (panel.taskId && (d.task_id === panel.taskId || (d.task && d.task.id === panel.taskId))) {
      refreshCardPanelSoon();
    }
    switch (ev.type) {
      case 'column.created':
      case 'column.renamed':
      case 'column.moved':
        b.columns.set(d.column.id, d.column);
        applyRebalanced(b.columns, d.rebalanced);
        break;
      case 'column.deleted':
        b.columns.delete(d.column_id);
        for (const [id, t] of b.tasks) if (t.column_id === d.column_id) b.tasks.delete(id);
        break;
      case 'task.created':
      case 'task.updated':
      case 'task.moved':
        b.tasks.set(d.task.id, d.task);
        applyRebalanced(b.tasks, d.rebalanced);
        break;
      case 'task.deleted':
      case 'task.archived':
        b.tasks.delete(d.task_id);
        break;
      case 'task.restored':
        b.tasks.set(d.task.id, d.task);
        break;
      case 'project.created':
        if (d.project) b.project = d.project;
        break;
      default:
        // Unknown types come from a newer server: ignore them, the seq still advances.
        break;
    }
  }

  /** New keys the server gave siblings when it re-keyed a list to keep keys short. */
  function applyRebalanced(items, rebalanced) {
    for (const { id, position } of rebalanced || []) {
      const item = items.get(id);
      if (item) items.set(id, { ...item, position });
    }
  }

  /** What an ack's result means, in the shape of the event the server will broadcast
   *  (a placement's result also carries the re-keyed siblings, as its event does). */
  const ACK_AS_EVENT = {
    'column:create': ({ rebalanced, ...r }) => ({ type: 'column.created', data: { column: r, rebalanced } }),
    'column:rename': (r) => ({ type: 'column.renamed', data: { column: r } }),
    'column:move': ({ rebalanced, ...r }) => ({ type: 'column.moved', data: { column: r, rebalanced } }),
    'column:delete': (r) => ({ type: 'column.deleted', data: r }),
    'task:create': ({ rebalanced, ...r }) => ({ type: 'task.created', data: { task: r, rebalanced } }),
    'task:update': (r) => ({ type: 'task.updated', data: { task: r } }),
    'task:move': ({ rebalanced, ...r }) => ({ type: 'task.moved', data: { task: r, rebalanced } }),
    'task:delete': (r) => ({ type: 'task.deleted', data: r }),
    'task:archive': (r) => ({ type: 'task.archived', data: { task_id: r.id, task: r } }),
    'task:restore': (r) => ({ type: 'task.restored', data: { task_id: r.id, task: r } }),
  };

  /** A board mutation: emit, then apply the acknowledged result at its seq. */
  async function mutate(event, fields) {
    const b = board;
    if (!b) throw new ApiError(0, { message: 'No board is open.' });
    if (readOnly(b)) {
      throw new ApiError(0, { message: `As a ${b.role} of this board you cannot change it.` });
    }
    const reply = await request(event, { op_id: newOpId(), project_id: b.projectId, ...fields });
    if (board === b && typeof reply.seq === 'number') {
      const change = ACK_AS_EVENT[event](reply.data);
      enqueue(b, { project_id: b.projectId, seq: reply.seq, ...change });
    }
    return reply.data;
  }

  function sortedColumns(b) {
    return [...b.columns.values()].sort(byPosition);
  }

  function tasksOf(b, columnId) {
    return [...b.tasks.values()].filter((t) => t.column_id === columnId).sort(byPosition);
  }

  /** Put `els` into `parent` in this order, moving only what is out of place. */
  function reconcile(parent, els) {
    const wanted = new Set(els);
    for (const child of [...parent.children]) {
      if (!wanted.has(child) && !child.classList.contains('drop-marker')) child.remove();
    }
    let cursor = parent.firstElementChild;
    for (const el of els) {
      while (cursor && cursor.classList.contains('drop-marker')) cursor = cursor.nextElementSibling;
      if (el === cursor) cursor = cursor.nextElementSibling;
      else parent.insertBefore(el, cursor);
    }
  }

  function renderBoard() {
    renderBoardColumns();
    renderPresence();
  }

  function renderBoardColumns() {
    const b = board;
    if (!b || !b.ready) return;
    const active = document.activeElement;
    const columns = sortedColumns(b);
    const seenTasks = new Set();
    const colEls = columns.map((col) => {
      let el = b.columnEls.get(col.id);
      if (!el) {
        el = createColumnEl(col.id);
        b.columnEls.set(col.id, el);
      }
      const tasks = tasksOf(b, col.id);
      updateColumnEl(el, col, tasks.length);
      const cardEls = tasks.map((task) => {
        seenTasks.add(task.id);
        let card = b.taskEls.get(task.id);
        if (!card) {
          card = createCardEl(task.id);
          b.taskEls.set(task.id, card);
        }
        updateCardEl(card, task);
        return card;
      });
      reconcile($('.card-list', el), cardEls);
      return el;
    });
    reconcile(byTestId('board'), colEls);
    for (const id of [...b.columnEls.keys()]) if (!b.columns.has(id)) b.columnEls.delete(id);
    for (const id of [...b.taskEls.keys()]) if (!seenTasks.has(id)) b.taskEls.delete(id);
    if (focusTaskOnOpen && b.taskEls.has(focusTaskOnOpen)) {
      // Opened from a search result or a notification: show that card.
      const card = b.taskEls.get(focusTaskOnOpen);
      focusTaskOnOpen = null;
      card.scrollIntoView({ block: 'center', inline: 'center' });
      card.focus({ preventScroll: true });
    } else if (active && active !== document.activeElement && active.isConnected) {
      active.focus({ preventScroll: true });
    }
  }

  // --- columns ---------------------------------------------------------------------------

  function createColumnEl(columnId) {
    const headingId = `col-${columnId}`;
    const el = h(
      'section',
      { class: 'column', 'data-testid': 'column', 'aria-labelledby': headingId, dataset: { columnId } },
      h(
        'header',
        {
          class: 'column-header',
          role: 'group',
          draggable: 'true',
          tabindex: '0',
          'aria-describedby': 'column-help',
          'aria-label': 'Column',
        },
        h('h2', { class: 'column-name', id: headingId, 'data-testid': 'column-name' }),
        h('span', { class: 'count', 'data-testid': 'column-count' }),
        h(
          'div',
          { class: 'column-actions' },
          h('button', { type: 'button', class: 'icon-btn', 'data-testid': 'column-rename', text: '✎' }),
          h('button', { type: 'button', class: 'icon-btn danger', 'data-testid': 'column-delete', text: '×' }),
        ),
      ),
      h('ol', { class: 'card-list', 'data-testid': 'card-list' }),
      h(
        'form',
        { class: 'add-card', 'data-testid': 'add-card-form' },
        h('label', { class: 'sr-only', for: `new-card-${columnId}`, text: 'New card title' }),
        h('input', {
          id: `new-card-${columnId}`,
          type: 'text',
          maxlength: '500',
          placeholder: 'Add a card…',
          autocomplete: 'off',
          'data-testid': 'new-card-title',
        }),
        h('button', { type: 'submit', class: 'btn btn-small', 'data-testid': 'add-card', text: 'Add' }),
      ),
    );
    return el;
  }

  function updateColumnEl(el, col, count) {
    el.dataset.columnId = col.id;
    const name = $('.column-name', el);
    if (!el.classList.contains('editing') && name.textContent !== col.name) name.textContent = col.name;
    const header = $('.column-header', el);
    header.setAttribute('aria-label', `Column ${col.name}`);
    $('.count', el).textContent = String(count);
    $('.count', el).setAttribute('aria-label', `${count} card${count === 1 ? '' : 's'}`);
    $('[data-testid="column-rename"]', el).setAttribute('aria-label', `Rename column ${col.name}`);
    $('[data-testid="column-delete"]', el).setAttribute('aria-label', `Delete column ${col.name}`);
    $('.card-list', el).setAttribute('aria-label', `Cards in ${col.name}`);
  }

  function startRenameColumn(el) {
    const b = board;
    const col = b && b.columns.get(el.dataset.columnId);
    if (!col || el.classList.contains('editing')) return;
    const nameEl = $('.column-name', el);
    inlineEdit(el, nameEl, col.name, {
      label: `Rename column ${col.name}`,
      maxLength: 100,
      testId: 'column-name-input',
      focusTarget: $('.column-header', el),
      save: (value) =>
        value === col.name ? null : mutate('column:rename', { column_id: col.id, base_version: col.version, name: value }),
    });
  }

  async function deleteColumn(el) {
    const col = board && board.columns.get(el.dataset.columnId);
    if (!col) return;
    const count = tasksOf(board, col.id).length;
    if (count > 0) {
      const ok = window.confirm(
        `Delete the column “${col.name}” and its ${count} card${count === 1 ? '' : 's'}?`,
      );
      if (!ok) return;
    }
    try {
      await mutate('column:delete', { column_id: col.id });
      announce(`Column ${col.name} deleted.`);
    } catch (err) {
      failed(err);
    }
  }

  /** Move a column to sit after `afterId` (null = first). */
  async function moveColumn(columnId, afterId) {
    const b = board;
    const current = sortedColumns(b);
    const index = current.findIndex((c) => c.id === columnId);
    if (index < 0) return;
    const currentAfter = index > 0 ? current[index - 1].id : null;
    if (currentAfter === afterId) return;
    const el = b.columnEls.get(columnId);
    const after = afterId ? b.columnEls.get(afterId) : null;
    const container = byTestId('board');
    if (el) {
      const hadFocus = el.contains(document.activeElement);
      const focused = document.activeElement;
      container.insertBefore(el, after ? after.nextElementSibling : container.firstElementChild);
      if (hadFocus) focused.focus();
    }
    try {
      await mutate('column:move', { column_id: columnId, after_id: afterId });
    } catch (err) {
      failed(err);
      if (board === b) renderBoard();
    }
  }

  // --- cards -----------------------------------------------------------------------------

  function createCardEl(taskId) {
    return h(
      'li',
      {
        class: 'card',
        'data-testid': 'card',
        draggable: 'true',
        tabindex: '0',
        'aria-describedby': 'card-help',
        dataset: { taskId },
      },
      h('span', { class: 'card-title', 'data-testid': 'card-title' }),
      h(
        'span',
        { class: 'card-actions' },
        h('button', { type: 'button', class: 'icon-btn', 'data-testid': 'card-rename', text: '✎' }),
        h('button', { type: 'button', class: 'icon-btn danger', 'data-testid': 'card-archive', text: '×' }),
      ),
    );
  }

  function updateCardEl(el, task) {
    el.dataset.taskId = task.id;
    el.dataset.columnId = task.column_id;
    if (!el.classList.contains('editing')) {
      const title = $('.card-title', el);
      if (title.textContent !== task.title) title.textContent = task.title;
    }
    el.setAttribute('aria-label', task.title);
    $('[data-testid="card-rename"]', el).setAttribute('aria-label', `Rename card ${task.title}`);
    $('[data-testid="card-archive"]', el).setAttribute('aria-label', `Archive card ${task.title}`);
  }

  function startRenameCard(el) {
    const task = board && board.tasks.get(el.dataset.taskId);
    if (!task || el.classList.contains('editing')) return;
    announceEditing(task.id);
    inlineEdit(el, $('.card-title', el), task.title, {
      label: `Rename card ${task.title}`,
      maxLength: 500,
      testId: 'card-title-input',
      onDone: () => announceEditing(null),
      save: (value) => (value === task.title ? null : mutate('task:update', { task_id: task.id, base_version: task.version, title: value })),
    });
  }

  /** The card's × archives it (nothing is lost), with an Undo that restores it. */
  async function archiveCard(el) {
    const task = board && board.tasks.get(el.dataset.taskId);
    if (!task) return;
    const next = el.nextElementSibling || el.previousElementSibling;
    try {
      await mutate('task:archive', { task_id: task.id });
      announce(`Card ${task.title} archived.`);
      notify(`Archived “${task.title}”.`, 'info', {
        label: 'Undo',
        run: () => mutate('task:restore', { task_id: task.id }).catch(failed),
      });
      if (next && next.isConnected && next.classList.contains('card')) next.focus();
    } catch (err) {
      failed(err);
    }
  }

  /**
   * Move a task into `columnId` after `afterId` (null = first). The card moves in the DOM
   * right away; the acknowledged state re-renders it (or puts it back if the move failed).
   */
  async function moveTask(taskId, columnId, afterId) {
    const b = board;
    const task = b && b.tasks.get(taskId);
    if (!task) return;
    const siblings = tasksOf(b, task.column_id);
    const index = siblings.findIndex((t) => t.id === taskId);
    const currentAfter = index > 0 ? siblings[index - 1].id : null;
    if (task.column_id === columnId && currentAfter === afterId) return;

    const card = b.taskEls.get(taskId);
    const list = b.columnEls.get(columnId) && $('.card-list', b.columnEls.get(columnId));
    if (card && list) {
      const after = afterId ? b.taskEls.get(afterId) : null;
      const hadFocus = card.contains(document.activeElement);
      list.insertBefore(card, after ? after.nextElementSibling : list.firstElementChild);
      if (hadFocus) card.focus();
    }
    try {
      await mutate('task:move', { task_id: taskId, column_id: columnId, after_id: afterId });
    } catch (err) {
      failed(err);
      if (board === b) renderBoard();
    }
  }

  // --- inline editing --------------------------------------------------------------------

  function inlineEdit(container, display, value, { label, maxLength, testId, save, focusTarget, onDone }) {
    const refocus = () => (focusTarget || container).focus({ preventScroll: true });
    container.classList.add('editing');
    const dragEl = display.closest('[draggable="true"]');
    if (dragEl) dragEl.setAttribute('draggable', 'false');
    const input = h('input', {
      type: 'text',
      class: 'inline-input',
      maxlength: String(maxLength),
      'aria-label': label,
      'data-testid': testId,
    });
    input.value = value;
    display.hidden = true;
    display.after(input);
    input.focus();
    input.select();

    let done = false;
    const finish = async (commit) => {
      if (done) return;
      done = true;
      const text = input.value.trim();
      const restore = () => {
        input.remove();
        display.hidden = false;
        container.classList.remove('editing');
        if (dragEl) dragEl.setAttribute('draggable', 'true');
        if (onDone) onDone();
      };
      if (!commit || !text) {
        restore();
        if (board) renderBoard();
        refocus();
        return;
      }
      display.textContent = text; // show the new text while the server confirms
      restore();
      refocus();
      try {
        await save(text);
      } catch (err) {
        failed(err);
      }
      if (board) renderBoard();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        finish(true);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        finish(false);
      }
      e.stopPropagation();
    });
    input.addEventListener('blur', () => finish(true));
  }

  // --- drag and drop (HTML5) -------------------------------------------------------------

  let drag = null; // {kind: 'task'|'column', id}
  const taskMarker = h('li', { class: 'drop-marker', 'aria-hidden': 'true' });
  const columnMarker = h('div', { class: 'drop-marker drop-marker-column', 'aria-hidden': 'true' });

  /** Where a card dropped at clientY lands in `list`: {afterId, before (element or null)}. */
  function taskDropPoint(list, clientY) {
    const cards = [...list.querySelectorAll('.card')].filter((c) => c.dataset.taskId !== drag.id);
    let after = null;
    for (const card of cards) {
      const box = card.getBoundingClientRect();
      if (clientY < box.top + box.height / 2) return { afterId: after, before: card };
      after = card.dataset.taskId;
    }
    return { afterId: after, before: null };
  }

  function columnDropPoint(container, clientX) {
    const cols = [...container.querySelectorAll('.column')].filter((c) => c.dataset.columnId !== drag.id);
    let after = null;
    for (const col of cols) {
      const box = col.getBoundingClientRect();
      if (clientX < box.left + box.width / 2) return { afterId: after, before: col };
      after = col.dataset.columnId;
    }
    return { afterId: after, before: null };
  }

  function clearDrag() {
    taskMarker.remove();
    columnMarker.remove();
    for (const el of document.querySelectorAll('.dragging, .drop-target')) {
      el.classList.remove('dragging', 'drop-target');
    }
    drag = null;
  }

  function setupDragAndDrop(container) {
    container.addEventListener('dragstart', (e) => {
      if (readOnly(board)) {
        e.preventDefault();
        return;
      }
      const card = e.target.closest && e.target.closest('.card');
      const header = e.target.closest && e.target.closest('.column-header');
      if (card && !card.classList.contains('editing')) {
        drag = { kind: 'task', id: card.dataset.taskId };
        e.dataTransfer.setData('application/x-boardroom-task', drag.id);
        e.dataTransfer.setData('text/plain', $('.card-title', card).textContent);
        e.dataTransfer.effectAllowed = 'move';
        requestAnimationFrame(() => card.classList.add('dragging'));
      } else if (header) {
        const col = header.closest('.column');
        drag = { kind: 'column', id: col.dataset.columnId };
        e.dataTransfer.setData('application/x-boardroom-column', drag.id);
        e.dataTransfer.setData('text/plain', $('.column-name', col).textContent);
        e.dataTransfer.effectAllowed = 'move';
        requestAnimationFrame(() => col.classList.add('dragging'));
      } else {
        e.preventDefault();
      }
    });

    container.addEventListener('dragover', (e) => {
      if (!drag) return;
      if (drag.kind === 'task') {
        const column = e.target.closest('.column');
        if (!column) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        const list = $('.card-list', column);
        const { before } = taskDropPoint(list, e.clientY);
        for (const el of container.querySelectorAll('.drop-target')) {
          if (el !== column) el.classList.remove('drop-target');
        }
        column.classList.add('drop-target');
        if (taskMarker.parentElement !== list || taskMarker.nextElementSibling !== before) {
          list.insertBefore(taskMarker, before);
        }
      } else {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        const { before } = columnDropPoint(container, e.clientX);
        if (columnMarker.parentElement !== container || columnMarker.nextElementSibling !== before) {
          container.insertBefore(columnMarker, before);
        }
      }
    });

    container.addEventListener('dragleave', (e) => {
      if (!drag || container.contains(e.relatedTarget)) return;
      taskMarker.remove();
      columnMarker.remove();
      for (const el of container.querySelectorAll('.drop-target')) el.classList.remove('drop-target');
    });

    container.addEventListener('drop', (e) => {
      if (!drag) return;
      e.preventDefault();
      const current = drag;
      if (current.kind === 'task') {
        const column = e.target.closest('.column');
        if (column) {
          const { afterId } = taskDropPoint($('.card-list', column), e.clientY);
          clearDrag();
          moveTask(current.id, column.dataset.columnId, afterId);
          const task = board && board.tasks.get(current.id);
          const col = board && board.columns.get(column.dataset.columnId);
          if (task && col) announce(`Moved ${task.title} to ${col.name}.`);
          return;
        }
      } else {
        const { afterId } = columnDropPoint(container, e.clientX);
        clearDrag();
        moveColumn(current.id, afterId);
        return;
      }
      clearDrag();
    });

    container.addEventListener('dragend', clearDrag);
  }

  // --- keyboard moves --------------------------------------------------------------------

  function keyboardMoveTask(card, key) {
    const b = board;
    const task = b && b.tasks.get(card.dataset.taskId);
    if (!task) return;
    const cols = sortedColumns(b);
    const colIndex = cols.findIndex((c) => c.id === task.column_id);
    const siblings = tasksOf(b, task.column_id).filter((t) => t.id !== task.id);
    const index = tasksOf(b, task.column_id).findIndex((t) => t.id === task.id);
    if (key === 'ArrowUp' || key === 'ArrowDown') {
      const target = key === 'ArrowUp' ? index - 1 : index + 1;
      if (target < 0 || target > siblings.length) return;
      moveTask(task.id, task.column_id, target === 0 ? null : siblings[target - 1].id);
      announce(`${task.title}: position ${target + 1} of ${siblings.length + 1} in ${cols[colIndex].name}.`);
    } else {
      const to = cols[key === 'ArrowLeft' ? colIndex - 1 : colIndex + 1];
      if (!to) return;
      const targetTasks = tasksOf(b, to.id);
      const at = Math.min(index, targetTasks.length);
      moveTask(task.id, to.id, at === 0 ? null : targetTasks[at - 1].id);
      announce(`Moved ${task.title} to ${to.name}.`);
    }
  }

  function keyboardMoveColumn(el, key) {
    const cols = sortedColumns(board);
    const index = cols.findIndex((c) => c.id === el.dataset.columnId);
    const others = cols.filter((c) => c.id !== el.dataset.columnId);
    const target = key === 'ArrowLeft' ? index - 1 : index + 1;
    if (index < 0 || target < 0 || target > others.length) return;
    moveColumn(cols[index].id, target === 0 ? null : others[target - 1].id);
    announce(`Column ${cols[index].name}: position ${target + 1} of ${cols.length}.`);
  }

  function setupBoard() {
    const container = byTestId('board');
    setupDragAndDrop(container);

    container.addEventListener('click', (e) => {
      const button = e.target.closest('button');
      if (!button) {
        const card = e.target.closest('.card');
        if (card && !card.classList.contains('editing')) openCard(card.dataset.taskId);
        return;
      }
      const card = button.closest('.card');
      const column = button.closest('.column');
      switch (button.dataset.testid) {
        case 'card-rename':
          startRenameCard(card);
          break;
        case 'card-archive':
          archiveCard(card);
          break;
        case 'column-rename':
          startRenameColumn(column);
          break;
        case 'column-delete':
          deleteColumn(column);
          break;
        default:
          break;
      }
    });

    container.addEventListener('dblclick', (e) => {
      const title = e.target.closest('.card-title');
      if (title) startRenameCard(title.closest('.card'));
      const name = e.target.closest('.column-name');
      if (name) startRenameColumn(name.closest('.column'));
    });

    container.addEventListener('keydown', (e) => {
      const target = e.target;
      if (readOnly(board) && !(e.key === 'Enter' && target.classList.contains('card'))) return;
      if (target.classList.contains('card')) {
        if (e.altKey && ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(e.key)) {
          e.preventDefault();
          keyboardMoveTask(target, e.key);
        } else if (e.key === 'Enter') {
          e.preventDefault();
          openCard(target.dataset.taskId);
        } else if (e.key === 'F2') {
          e.preventDefault();
          startRenameCard(target);
        } else if (e.key === 'Delete') {
          e.preventDefault();
          archiveCard(target);
        }
      } else if (target.classList.contains('column-header')) {
        if (e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
          e.preventDefault();
          keyboardMoveColumn(target.closest('.column'), e.key);
        } else if (e.key === 'F2') {
          e.preventDefault();
          startRenameColumn(target.closest('.column'));
        }
      }
    });

    container.addEventListener('submit', async (e) => {
      const form = e.target.closest('.add-card');
      if (!form) return;
      e.preventDefault();
      const column = form.closest('.column');
      const input = $('input', form);
      const title = input.value.trim();
      if (!title) return input.focus();
      const button = $('button', form);
      button.disabled = true;
      try {
        await mutate('task:create', { column_id: column.dataset.columnId, title });
        input.value = '';
      } catch (err) {
        failed(err);
      } finally {
        button.disabled = false;
        input.focus();
      }
    });

    byTestId('column-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = byTestId('new-column-name');
      const name = input.value.trim();
      if (!name || !board) return input.focus();
      const button = byTestId('create-column');
      button.disabled = true;
      try {
        await mutate('column:create', { name });
        input.value = '';
      } catch (err) {
        failed(err);
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Start

  function start() {
    if (typeof window.io !== 'function') {
      document.body.textContent = 'The Socket.IO client failed to load (/static/vendor/socket.io.min.js).';
      return;
    }
    setupAuth();
    setupInbox();
    setupSearch();
    setupMembers();
    setupCardPanel();
    setupHome();
    setupBoard();
    window.addEventListener('hashchange', route);
    route();
  }

  start();
})();
