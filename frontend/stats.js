/** Value ranges and non-finite counts of a decoded tensor. */

/**
 * @typedef {Object} TensorStats
 * @property {number} channels channels for the per-channel colour scale (the last axis for rank >= 2, else 1)
 * @property {number} min smallest finite value (0 when there is none)
 * @property {number} max largest finite value (0 when there is none)
 * @property {Float64Array} channelMin per channel, as `min`
 * @property {Float64Array} channelMax per channel, as `max`
 * @property {number} finite count of finite values
 * @property {number} nan count of NaN
 * @property {number} posInf count of +Inf
 * @property {number} negInf count of -Inf
 */

/**
 * The channel axis used for per-channel colour scales: the last one.
 * @param {number[]} shape
 */
export function channelCount(shape) {
  return shape.length >= 2 ? Math.max(1, shape[shape.length - 1]) : 1;
}

/**
 * @param {Float32Array} values C-order values
 * @param {number[]} shape
 * @returns {TensorStats}
 */
export function computeStats(values, shape) {
  const channels = channelCount(shape);
  const channelMin = new Float64Array(channels).fill(Infinity);
  const channelMax = new Float64Array(channels).fill(-Infinity);
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0, c = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) nan++;
    else if (v === Infinity) posInf++;
    else if (v === -Infinity) negInf++;
    else {
      if (v < channelMin[c]) channelMin[c] = v;
      if (v > channelMax[c]) channelMax[c] = v;
    }
    if (++c === channels) c = 0;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let c = 0; c < channels; c++) {
    if (channelMin[c] > channelMax[c]) {
      channelMin[c] = 0; // a channel without a finite value
      channelMax[c] = 0;
      continue;
    }
    min = Math.min(min, channelMin[c]);
    max = Math.max(max, channelMax[c]);
  }
  if (min > max) min = max = 0;
  const finite = values.length - nan - posInf - negInf;
  return { channels, min, max, channelMin, channelMax, finite, nan, posInf, negInf };
}
