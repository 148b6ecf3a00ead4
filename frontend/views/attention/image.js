/**
 * The focused head on the input image (vision transformers, whose keys are
 * a grid of patches): the logged input image of the sample, and over it the
 * attention of the picked query to every patch. Pick the query in the
 * select, or (when queries are the patches) by clicking a patch.
 */

import { SEQUENTIAL } from "../../colormap.js";
import { el } from "../../dom.js";

/** Side of the drawn image, in CSS px (rounded down to whole patches). */
const IMAGE_PX = 384;

/**
 * Draws the image and the overlay into `box`.
 * @param {HTMLElement} box
 * @param {{values: ArrayLike<number>, offset: number, q: number, k: number, ql: string[],
 *   patchGrid: [number, number], prefix: number, query: number, sample: number,
 *   image: {shape: number[], values: Float32Array}|null,
 *   onQuery: (query: number) => void, onCell: (row: number|null, col?: number) => void}} head
 *   the scores of the focused head (from `offset`, q x k) and the query labels; the tag's patch
 *   grid [rows, cols] and prefix tokens (e.g. a class token) before the patches; the picked
 *   query; the logged input (null: grey patches); onQuery: another query picked;
 *   onCell: a (query, key) hovered (null: none)
 */
export function renderImage(box, { values, offset, q, k, ql, patchGrid, prefix, query, sample, image: input, onQuery, onCell }) {
  const [rows, cols] = patchGrid;
  const cw = Math.floor(IMAGE_PX / cols);
  const ch = Math.floor(IMAGE_PX / rows);
  const image = el("canvas", { class: "attn-image", width: cols * cw, height: rows * ch, "aria-label": "input image" });
  const overlay = el("canvas", { class: "attn-overlay", width: cols, height: rows, role: "img", "aria-label": "attention over the image patches" });
  overlay.style.width = `${cols * cw}px`;
  overlay.style.height = `${rows * ch}px`;
  const pick = el("div", { class: "attn-pick", "aria-hidden": "true" });
  const ictx = /** @type {CanvasRenderingContext2D} */ (image.getContext("2d"));
  if (input) drawImage(ictx, cols * cw, rows * ch, input, sample);
  else {
    ictx.fillStyle = "#777";
    ictx.fillRect(0, 0, cols * cw, rows * ch);
  }
  const base = offset + query * k + prefix;
  let hi = 0;
  for (let p = 0; p < rows * cols; p++) hi = Math.max(hi, values[base + p]);
  const octx = /** @type {CanvasRenderingContext2D} */ (overlay.getContext("2d"));
  const img = octx.createImageData(cols, rows);
  for (let p = 0; p < rows * cols; p++) {
    const rgb = SEQUENTIAL.colourOf(values[base + p], 0, hi || 1);
    img.data.set([rgb[0], rgb[1], rgb[2], Math.round(60 + 160 * ((values[base + p] || 0) / (hi || 1)))], p * 4);
  }
  octx.putImageData(img, 0, 0);
  const qPatch = query - prefix;
  pick.hidden = !(qPatch >= 0 && qPatch < rows * cols && q === k);
  if (!pick.hidden) {
    pick.style.left = `${(qPatch % cols) * cw}px`;
    pick.style.top = `${Math.floor(qPatch / cols) * ch}px`;
    pick.style.width = `${cw}px`;
    pick.style.height = `${ch}px`;
  }
  const where = (/** @type {MouseEvent} */ e) => {
    const r = overlay.getBoundingClientRect();
    const c = Math.floor(((e.clientX - r.left) / r.width) * cols);
    const rr = Math.floor(((e.clientY - r.top) / r.height) * rows);
    return c >= 0 && rr >= 0 && c < cols && rr < rows ? rr * cols + c : -1;
  };
  overlay.addEventListener("pointermove", (e) => {
    const p = where(e);
    if (p < 0) return onCell(null);
    onCell(query, prefix + p);
  });
  overlay.addEventListener("pointerleave", () => onCell(null));
  overlay.addEventListener("click", (e) => {
    const p = where(e);
    if (p >= 0 && q === k) onQuery(prefix + p);
  });
  const options = ql.map((text, i) => el("option", { value: String(i), text: i < prefix ? `${text} (prefix ${i})` : `${text} (patch ${i - prefix})` }));
  const select = el("select", { class: "attn-query-select", "aria-label": "query" }, options);
  select.value = String(query);
  select.addEventListener("change", () => onQuery(Number(select.value)));
  box.append(
    el("div", { class: "attn-image-box" }, [
      el("label", { class: "attn-query" }, [el("span", { text: "Query " }), select, el("span", { class: "attn-note", text: q === k ? " or click a patch" : "" })]),
      el("div", { class: "attn-image-frame" }, [image, overlay, pick]),
      input ? null : el("p", { class: "attn-note", text: "No input image was logged; patches are shown on grey." }),
    ])
  );
}

/**
 * Draws sample `sample` of the logged input image into a w x h canvas context (grey or RGB,
 * values in [0, 1] or [0, 255]).
 * @param {CanvasRenderingContext2D} ctx @param {number} w @param {number} h
 * @param {{shape: number[], values: Float32Array}} input @param {number} sample
 */
function drawImage(ctx, w, h, { shape, values }, sample) {
  const [ih, iw, c] = shape.slice(-3);
  const base = shape.length === 4 ? Math.min(sample, shape[0] - 1) * ih * iw * c : 0;
  let max = 0;
  for (let i = base; i < base + ih * iw * c; i++) if (values[i] > max) max = values[i];
  const scale = max > 1.5 ? 1 : 255;
  const tmp = el("canvas", { width: iw, height: ih });
  const tctx = /** @type {CanvasRenderingContext2D} */ (tmp.getContext("2d"));
  const img = tctx.createImageData(iw, ih);
  for (let p = 0; p < ih * iw; p++) {
    for (let j = 0; j < 3; j++) img.data[p * 4 + j] = values[base + p * c + (c >= 3 ? j : 0)] * scale;
    img.data[p * 4 + 3] = 255;
  }
  tctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, w, h);
}
