// The live feed from the Manager over Socket.IO: connection state, room
// subscriptions that survive reconnects, and event listeners.
import { io } from 'socket.io-client';
import { reactive } from 'vue';

export const connection = reactive({ connected: false, everConnected: false });

const socket = io({ path: '/socket.io/', transports: ['websocket', 'polling'], autoConnect: false });
const subscriptions = new Map(); // "type/uuid" -> number of holders
const reconnectListeners = new Set();

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
socket.on('disconnect', () => {
  connection.connected = false;
});

async function sendSubscription(op, type, uuid) {
  if (!socket.connected) return; // sent again on (re)connect
  try {
    const answer = await socket.timeout(10000).emitWithAck('/subscription', { op, type, uuid });
    if (answer !== 'ok') console.warn(`subscription ${op} ${type} ${uuid}: ${answer}`);
  } catch (error) {
    console.warn(`subscription ${op} ${type} ${uuid} not acknowledged`, error);
  }
}

export function connect() {
  socket.connect();
}

/** Joins a room; returns a function that leaves it again. */
export function subscribe(type, uuid = '') {
  const key = `${type}/${uuid}`;
  const count = subscriptions.get(key) || 0;
  subscriptions.set(key, count + 1);
  if (count === 0) sendSubscription('subscribe', type, uuid);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const left = (subscriptions.get(key) || 1) - 1;
    if (left > 0) {
      subscriptions.set(key, left);
    } else {
      subscriptions.delete(key);
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
