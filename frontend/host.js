/**
 * The plugin host (TensorBoard's webapp around our iframe). The entry page
 * hands the host a MessagePort with the "experimental.bootstrap" message;
 * both sides then send JSON strings {type, id, payload, error, isReply}
 * over it, and each side replies to every request.
 *
 * TensorBoard 2.21 (webfiles.zip, index.js) offers exactly:
 * - "experimental.GetRuns"          -> the run names TensorBoard lists
 * - "experimental.RunsChanged"      (host -> us) the run names, when they change
 * - "experimental.GetURLPluginData" payload {pluginName} -> the parent URL's
 *                                   `p.<pluginName>.<key>` hash entries as {key: value}
 * - "experimental.DataReloaded"     (host -> us) TensorBoard finished a reload
 * There is no message to *write* the parent's URL (see urlstate.js).
 */

const REPLY_TIMEOUT_MS = 3000;

/**
 * @typedef {Object} Host
 * @property {(type: string, payload?: any) => Promise<any>} request a reply's payload (rejects on error / timeout / no host)
 * @property {() => void} disconnect
 * @property {boolean} connected
 */

/**
 * @param {{onDataReloaded?: () => void, onRunsChanged?: (runs: string[]) => void}} handlers
 * @returns {Host}
 */
export function connectHost({ onDataReloaded, onRunsChanged } = {}) {
  const none = {
    connected: false,
    request: () => Promise.reject(new Error("no plugin host")),
    disconnect: () => {},
  };
  if (window.parent === window) return none;
  /** @type {Object<string, ((payload: any) => void)|undefined>} */
  const listeners = {
    "experimental.DataReloaded": onDataReloaded ? () => onDataReloaded() : undefined,
    "experimental.RunsChanged": onRunsChanged
      ? (payload) => {
          if (Array.isArray(payload)) onRunsChanged(payload.map(String));
        }
      : undefined,
  };
  /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void, timer: number}>} */
  const waiting = new Map();
  let nextId = 1;
  let channel;
  try {
    channel = new MessageChannel();
    channel.port1.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (!message) return;
      if (message.isReply) {
        const wait = waiting.get(message.id);
        if (!wait) return;
        waiting.delete(message.id);
        window.clearTimeout(wait.timer);
        if (message.error) wait.reject(new Error(String(message.error)));
        else wait.resolve(message.payload);
        return;
      }
      const listener = listeners[message.type];
      // Reply to everything, so the host never waits on us.
      channel.port1.postMessage(
        JSON.stringify({ type: message.type, id: message.id, payload: null, error: null, isReply: true })
      );
      if (listener) listener(message.payload);
    });
    channel.port1.start();
    window.parent.postMessage("experimental.bootstrap", window.location.origin, [channel.port2]);
  } catch (_) {
    return none;
  }
  return {
    connected: true,
    request(type, payload) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = window.setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`no answer to ${type}`));
        }, REPLY_TIMEOUT_MS);
        waiting.set(id, { resolve, reject, timer });
        channel.port1.postMessage(JSON.stringify({ type, id, payload: payload ?? null, error: null, isReply: false }));
      });
    },
    disconnect: () => channel.port1.close(),
  };
}
