/**
 * Decoder of internals payloads: the browser twin of `tb_plugin.encoding.decode`
 * (see that module's docstring for the format). All integers little-endian:
 *
 *   "INTL" | version u8 | 3 reserved bytes | header_len u32 | JSON header | body
 *
 * The body is zlib data when `compression == "deflate"` (inflated with the
 * browser's DecompressionStream), then either N float32 (`f32`) or, for `q8`,
 * lo[C] f32, scale[C] f32, K non-finite flat indices u32, their K kinds u8
 * (0 NaN, 1 +Inf, 2 -Inf) and N u8 codes. Value i of channel c = i % C is
 * float32(lo[c] + code * scale[c]) with the sum computed in double, exactly
 * as numpy does it, so both decoders give bit-identical arrays.
 */

export const MAGIC = "INTL";
export const FORMAT_VERSION = 1;
const PREFIX_BYTES = 12;
const ENCODINGS = ["q8", "f32"];
const NONFINITE = [NaN, Infinity, -Infinity];

/** A payload that is corrupt, truncated or from a newer format. */
export class DecodeError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "DecodeError";
  }
}

/**
 * @typedef {Object} PayloadHeader
 * @property {number[]} shape
 * @property {"q8"|"f32"} encoding
 * @property {number|null} channel_axis
 * @property {number} channels
 * @property {number} nonfinite
 * @property {"deflate"|"none"} compression
 * @property {number} body_length
 */

/**
 * @typedef {Object} DecodedTensor
 * @property {number[]} shape
 * @property {Float32Array} values row-major (C order), as numpy's decode
 * @property {PayloadHeader} header
 * @property {number} version the payload format version
 */

/**
 * Parses the fixed prefix and the JSON header.
 * @param {Uint8Array} bytes
 * @returns {{header: PayloadHeader, version: number, bodyOffset: number}}
 */
export function readHeader(bytes) {
  if (bytes.length < PREFIX_BYTES) {
    throw new DecodeError(`payload of ${bytes.length} bytes is too short (truncated write?)`);
  }
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== MAGIC) {
    throw new DecodeError(`not an internals payload (bad magic ${JSON.stringify(magic)})`);
  }
  const version = bytes[4];
  if (version > FORMAT_VERSION) {
    throw new DecodeError(
      `payload format version ${version} is newer than this tab reads (${FORMAT_VERSION}): ` +
        "upgrade tensorboard-plugin-internals and restart TensorBoard"
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  const end = PREFIX_BYTES + headerLength;
  if (end > bytes.length) throw new DecodeError("payload header is truncated");
  /** @type {any} */
  let header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, end)));
  } catch (e) {
    throw new DecodeError(`payload header is corrupt (${e instanceof Error ? e.message : e})`);
  }
  if (!header || typeof header !== "object" || !Array.isArray(header.shape)) {
    throw new DecodeError("payload header is corrupt (no shape)");
  }
  if (!header.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new DecodeError(`payload header is corrupt (bad shape ${JSON.stringify(header.shape)})`);
  }
  if (!ENCODINGS.includes(header.encoding)) {
    throw new DecodeError(`payload header is corrupt (unknown encoding ${JSON.stringify(header.encoding)})`);
  }
  return { header, version, bodyOffset: end };
}

/**
 * Inflates zlib ("deflate" in the Compression Streams API) data.
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
async function inflate(bytes) {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DecodeError(`payload body does not decompress (${e instanceof Error ? e.message : e})`);
  }
}

/**
 * Decodes payload bytes to a Float32Array of the logged shape.
 * @param {ArrayBuffer|Uint8Array} payload
 * @returns {Promise<DecodedTensor>}
 * @throws {DecodeError} corrupt, truncated or newer-format payloads
 */
export async function decodePayload(payload) {
  const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const { header, version, bodyOffset } = readHeader(bytes);
  let body = bytes.subarray(bodyOffset);
  if (header.compression === "deflate") body = await inflate(body);
  else if (header.compression !== undefined && header.compression !== "none") {
    throw new DecodeError(`payload uses an unknown compression ${JSON.stringify(header.compression)}`);
  }
  if (body.length !== header.body_length) {
    throw new DecodeError(
      `payload body has ${body.length} bytes, header says ${header.body_length} (truncated write?)`
    );
  }
  const size = header.shape.reduce((a, b) => a * b, 1);
  const values = header.encoding === "f32" ? decodeF32(body, size) : decodeQ8(body, size, header);
  return { shape: header.shape.slice(), values, header, version };
}

/**
 * @param {Uint8Array} body
 * @param {number} size
 */
function decodeF32(body, size) {
  if (body.length !== 4 * size) {
    throw new DecodeError(`payload body does not match its header (expected ${4 * size} bytes, found ${body.length})`);
  }
  const values = new Float32Array(size);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < size; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

/**
 * @param {Uint8Array} body
 * @param {number} size
 * @param {PayloadHeader} header
 */
function decodeQ8(body, size, header) {
  const channels = header.channels;
  const nonfinite = header.nonfinite;
  if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(nonfinite) || nonfinite < 0) {
    throw new DecodeError("payload body does not match its header (bad channels or nonfinite count)");
  }
  const expected = 8 * channels + 5 * nonfinite + size;
  if (body.length !== expected || size % channels !== 0) {
    throw new DecodeError(
      `payload body does not match its header (expected ${expected} body bytes, found ${body.length})`
    );
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const lo = new Float64Array(channels);
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    lo[c] = view.getFloat32(4 * c, true);
    scale[c] = view.getFloat32(4 * (channels + c), true);
  }
  const indexOffset = 8 * channels;
  const kindOffset = indexOffset + 4 * nonfinite;
  const codeOffset = kindOffset + nonfinite;
  const values = new Float32Array(size);
  // Storing into a Float32Array rounds the double sum to float32, as numpy's astype.
  for (let i = 0, c = 0; i < size; i++) {
    values[i] = lo[c] + body[codeOffset + i] * scale[c];
    if (++c === channels) c = 0;
  }
  for (let k = 0; k < nonfinite; k++) {
    const index = view.getUint32(indexOffset + 4 * k, true);
    const kind = body[kindOffset + k];
    if (index >= size || kind > 2) {
      throw new DecodeError(
        `payload body does not match its header (non-finite entry ${k}: index ${index}, kind ${kind})`
      );
    }
    values[index] = NONFINITE[kind];
  }
  return values;
}
