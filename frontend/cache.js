/** A small least-recently-used cache, bounded by entries and by a cost total. */

/** @template V */
export class LruCache {
  /**
   * @param {{maxEntries?: number, maxCost?: number}} [options]
   */
  constructor({ maxEntries = 48, maxCost = Infinity } = {}) {
    this.maxEntries = maxEntries;
    this.maxCost = maxCost;
    /** @private @type {Map<string, {value: V, cost: number}>} */
    this._map = new Map();
    /** @private */
    this._cost = 0;
  }

  /** @param {string} key @returns {V|undefined} */
  get(key) {
    const entry = this._map.get(key);
    if (!entry) return undefined;
    this._map.delete(key); // re-insert as the most recent
    this._map.set(key, entry);
    return entry.value;
  }

  /** @param {string} key */
  has(key) {
    return this._map.has(key);
  }

  /**
   * @param {string} key
   * @param {V} value
   * @param {number} [cost]
   */
  set(key, value, cost = 0) {
    this.delete(key);
    this._map.set(key, { value, cost });
    this._cost += cost;
    for (const [oldKey] of this._map) {
      if (this._map.size <= this.maxEntries && this._cost <= this.maxCost) break;
      if (oldKey === key) break; // always keep the newest entry
      this.delete(oldKey);
    }
  }

  /**
   * Updates the cost of an existing entry (e.g. once a pending value resolved).
   * @param {string} key
   * @param {number} cost
   */
  setCost(key, cost) {
    const entry = this._map.get(key);
    if (entry) this.set(key, entry.value, cost);
  }

  /** @param {string} key */
  delete(key) {
    const entry = this._map.get(key);
    if (!entry) return false;
    this._cost -= entry.cost;
    return this._map.delete(key);
  }

  clear() {
    this._map.clear();
    this._cost = 0;
  }

  get size() {
    return this._map.size;
  }
}
