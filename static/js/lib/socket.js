// The live feed from the Manager over Socket.IO: connection state, room
// subscriptions that survive reconnects, and event listeners.
import { io } from 'socket.io-client';
import { reactive } from 'vue';

export const connection = reactive({ connected: false, everConnected: false });

// `batched`: the Manager sends each flush's events as one `/batch` message of
// [event name, payload] pairs, instead of one message per event.
const socket = io({
  path: '/socket.io/',
  transports: ['websocket', 'polling'],
  autoConnect: false,
  auth: { batched: true },
});
const subscriptions = new Map(); // "type/uuid" -> number of holders
const joinListeners = new Map(); // "type/uuid" -> Set of callbacks
const joined = new Set(); // rooms the server has confirmed
const reconnectListeners = new Set();
// Without a live connection after this long, views load their data anyway.
const JOIN_FALLBACK_MS = 3000;

socket.on('connect', () => {
  const reconnected = connection.everConnected;
  connection.connected = true;
  connection.everConnected = true;
  for (const key of subscriptions.keys()) {
    const [type, uuid] = key.split('/');
    sendSubscription('subscribe', type, uuid);
  }
  // Events sent while we were away are lost; listeners re-fetch what they show.
  if (reconnected) for (const listener of reconnectListeners) listener();
});
socket.on('/batch', (events) => {
  for (const [name, payload] of events) {
    for (const handler of socket.listeners(name)) handler(payload);
  }
});
socket.on('disconnect', () => {
  connection.connected = false;
  joined.clear();
});

async function sendSubscription(op, type, uuid) {
  if (!socket.connected) return; // sent again on (re)connect
  try {
    const answer = await socket.timeout(10000).emitWithAck('/subscription', { op, type, uuid });
    if (answer !== 'ok') {
      console.warn(`subscription ${op} ${type} ${uuid}: ${answer}`);
      return;
    }
    const key = `${type}/${uuid}`;
    if (op === 'subscribe' && subscriptions.has(key)) {
      joined.add(key);
      for (const listener of joinListeners.get(key) || []) listener();
    }
  } catch (error) {
    console.warn(`subscription ${op} ${type} ${uuid} not acknowledged`, error);
  }
}

export function connect() {
  socket.connect();
}

/**
 * Joins a room; returns a function that leaves it again. `onJoined` runs each time
 * the Manager confirms the room (again after a reconnect): the moment to fetch
 * the data that the room's events keep current, so that no change falls between.
 */
export function subscribe(type, uuid = '', onJoined = null) {
  const key = `${type}/${uuid}`;
  const count = subscriptions.get(key) || 0;
  subscriptions.set(key, count + 1);
  let done = false;
  let fallback = 0;
  if (onJoined) {
    if (!joinListeners.has(key)) joinListeners.set(key, new Set());
    joinListeners.get(key).add(onJoined);
    if (joined.has(key)) onJoined();
    else {
      fallback = setTimeout(() => {
        if (!done && !joined.has(key)) onJoined();
      }, JOIN_FALLBACK_MS);
    }
  }
  if (count === 0) sendSubscription('subscribe', type, uuid);
  return () => {
    if (done) return;
    done = true;
    clearTimeout(fallback);
    joinListeners.get(key)?.delete(onJoined);
    const left = (subscriptions.get(key) || 1) - 1;
    if (left > 0) {
      subscriptions.set(key, left);
    } else {
      subscriptions.delete(key);
      joined.delete(key);
      sendSubscription('unsubscribe', type, uuid);
    }
  };
}

/** Listens for one event name ("/jobs", "/task", ...); returns a function that stops listening. */
export function onEvent(name, handler) {
  socket.on(name, handler);
  return () => socket.off(name, handler);
}

export function onReconnect(listener) {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}
