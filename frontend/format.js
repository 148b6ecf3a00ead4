/** Number and shape formatting for labels and read-outs. */

/**
 * The shortest decimal string that reads back as exactly the same float32:
 * the read-out shows the decoded value itself, not a rounded neighbour.
 * @param {number} value a float32 value (as stored in a Float32Array)
 * @returns {string}
 */
export function formatValue(value) {
  if (value === null || value === undefined) return "–"; // no value (e.g. a null in a series)
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const target = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return tidy(text);
  }
  return String(value);
}

/**
 * A short label for a legend tick (4 significant digits).
 * @param {number} value
 * @returns {string}
 */
export function formatTick(value) {
  if (!Number.isFinite(value)) return formatValue(value);
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  const text = magnitude >= 1e5 || magnitude < 1e-3 ? value.toExponential(3) : value.toPrecision(4);
  return tidy(text);
}

/** Drops trailing zeros of a mantissa: "1.500e+3" -> "1.5e+3", "2.000" -> "2". */
function tidy(text) {
  const [mantissa, exponent] = text.split("e");
  let m = mantissa;
  if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
  return exponent === undefined ? m : `${m}e${exponent}`;
}

/**
 * "2 × 6 × 6 × 3"; "scalar" for rank 0; -1 (unknown when logged) as "?".
 * @param {number[]} shape
 */
export function formatShape(shape) {
  if (!shape || shape.length === 0) return "scalar";
  return shape.map((d) => (d < 0 ? "?" : String(d))).join(" × ");
}

/** "1,234" @param {number} n */
export function formatCount(n) {
  return n.toLocaleString("en-US");
}

/**
 * A step as the user reads it: step -1 is the snapshot before training
 * (the Keras callback logs it there; the snapshot after epoch e is step e).
 * @param {number|null|undefined} step
 * @param {{capital?: boolean}} [options]
 */
export function formatStep(step, { capital = false } = {}) {
  if (step === null || step === undefined || !Number.isFinite(step)) return capital ? "No step" : "no step";
  if (step === -1) return capital ? "Before training" : "before training";
  return `${capital ? "Step" : "step"} ${step}`;
}
