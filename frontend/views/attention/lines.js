/**
 * The focused head as lines (short sequences only): query tokens on the
 * left, key tokens on the right, one line per weight worth seeing, thicker
 * and darker for stronger attention. Hovering a token highlights its lines
 * and reads out its strongest partner. Tokens reach the page as SVG text
 * content only.
 */

import { el, svg } from "../../dom.js";
import { formatValue } from "../../format.js";
import { strongestPartner } from "./math.js";

/** Longest sequence drawn as lines (beyond it, lines are unreadable). */
export const MAX_LINE_TOKENS = 64;

/**
 * Draws the lines into `box`.
 * @param {HTMLElement} box
 * @param {{values: ArrayLike<number>, offset: number, q: number, k: number, ql: string[], kl: string[],
 *   hi: number, name: string, readout: {set: (value: string|null, where?: string) => void}}} head
 *   the scores of the focused head (from `offset`, q x k), its token labels, the top of its colour
 *   range, its name, and where hovering reads out
 */
export function renderLines(box, { values, offset, q, k, ql, kl, hi, name, readout }) {
  const row = 22;
  const width = 460;
  const xq = 150;
  const xk = width - 150;
  const height = Math.max(q, k) * row + 12;
  const yq = (/** @type {number} */ i) => 10 + i * row + row / 2 + ((Math.max(q, k) - q) * row) / 2;
  const yk = (/** @type {number} */ j) => 10 + j * row + row / 2 + ((Math.max(q, k) - k) * row) / 2;
  const root = svg("svg", { class: "attn-lines", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${name}: attention as lines` });
  const lines = svg("g", { class: "attn-line-layer" });
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < k; j++) {
      const w = values[offset + i * k + j];
      if (!(w > hi * 0.02)) continue; // too faint to see
      const t = Math.min(1, w / hi);
      lines.append(
        svg("line", {
          class: "attn-line",
          x1: xq + 6,
          y1: yq(i).toFixed(1),
          x2: xk - 6,
          y2: yk(j).toFixed(1),
          "stroke-width": (0.5 + 4 * t).toFixed(2),
          "stroke-opacity": (0.12 + 0.88 * t).toFixed(3),
          dataset: { q: String(i), k: String(j), w: String(w) },
        })
      );
    }
  }
  root.append(lines);
  const tokens = svg("g", { class: "attn-line-tokens" });
  const hover = (/** @type {"q"|"k"|null} */ side, /** @type {number} */ index) => {
    root.classList.toggle("attn-lines-focus", side !== null);
    for (const line of lines.children) {
      const d = /** @type {SVGElement} */ (line).dataset;
      line.classList.toggle("attn-line-on", side !== null && Number(d[side]) === index);
    }
    for (const t of tokens.children) t.classList.toggle("attn-token-on", side !== null && /** @type {SVGElement} */ (t).dataset[side] === String(index));
    if (side === null) {
      readout.set(null);
      return;
    }
    const { best, weight } = strongestPartner(values, offset, q, k, side, index);
    readout.set(
      formatValue(weight),
      side === "q"
        ? `query “${ql[index]}” (${index}) attends most to key “${kl[best]}” (${best}) · ${name}`
        : `key “${kl[index]}” (${index}) is read most by query “${ql[best]}” (${best}) · ${name}`
    );
  };
  ql.forEach((text, i) => {
    tokens.append(
      svg("text", { class: "attn-token attn-token-q", x: xq, y: yq(i).toFixed(1), "text-anchor": "end", "dominant-baseline": "middle", dataset: { q: String(i) }, text,
        onpointerenter: () => hover("q", i), onpointerleave: () => hover(null, 0) })
    );
  });
  kl.forEach((text, j) => {
    tokens.append(
      svg("text", { class: "attn-token attn-token-k", x: xk, y: yk(j).toFixed(1), "text-anchor": "start", "dominant-baseline": "middle", dataset: { k: String(j) }, text,
        onpointerenter: () => hover("k", j), onpointerleave: () => hover(null, 0) })
    );
  });
  root.append(tokens);
  box.append(el("div", { class: "attn-lines-box" }, [el("div", { class: "attn-lines-heads" }, [el("span", { text: "queries" }), el("span", { text: "keys" })]), root]));
}
