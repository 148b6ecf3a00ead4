/**
 * A tiny DOM builder. It never parses HTML: text goes through text nodes and
 * `textContent`, everything else through properties and attributes, so user
 * strings (run and tag names, descriptions, server errors) cannot inject markup.
 */

/**
 * @typedef {Object<string, any>} Props
 * `class`: className; `text`: textContent; `dataset`: data-* values;
 * `on<event>` functions: listeners; `style`: an object of style properties;
 * anything else: an attribute (`true` sets it empty, `false`/null skips it).
 */

/**
 * Creates an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {Array<Node|string|null|undefined|false>} [children] strings become text nodes
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) {
      // Listeners only: an inline handler attribute would be script from a string.
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child); // a string is appended as a text node
  }
  return node;
}

/** Removes every child of `node`. @param {Node} node */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Creates an SVG element (createElementNS; never parsed from a string).
 * Props as `el`, except that every other key is an attribute as given
 * (camelCase SVG attributes such as `viewBox` keep their case).
 * @param {string} tag e.g. "svg", "path", "rect"
 * @param {Props} [props]
 * @param {Array<Node|string|null|undefined|false>} [children]
 * @returns {SVGElement}
 */
export function svg(tag, props = {}, children = []) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}
