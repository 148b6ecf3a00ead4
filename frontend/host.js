/**
 * TensorBoard's plugin host messages (components/experimental/plugin_lib):
 * the iframe hands the host a MessagePort with the "experimental.bootstrap"
 * message; the host then sends JSON strings {type, id, payload, error,
 * isReply} over it and waits for a reply to each. We only listen for
 * "experimental.DataReloaded" (TensorBoard finished a reload) to refresh.
 */

/**
 * @param {{onDataReloaded?: () => void}} handlers
 * @returns {() => void} disconnects
 */
export function connectHost({ onDataReloaded }) {
  if (window.parent === window) return () => {};
  /** @type {Object<string, (() => void)|undefined>} */
  const listeners = { "experimental.DataReloaded": onDataReloaded };
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
      if (!message || message.isReply) return;
      const listener = listeners[message.type];
      // Reply to everything, so the host never waits on us.
      channel.port1.postMessage(
        JSON.stringify({ type: message.type, id: message.id, payload: null, error: null, isReply: true })
      );
      if (listener) listener();
    });
    channel.port1.start();
    window.parent.postMessage("experimental.bootstrap", window.location.origin, [channel.port2]);
  } catch (_) {
    return () => {};
  }
  return () => channel.port1.close();
}
