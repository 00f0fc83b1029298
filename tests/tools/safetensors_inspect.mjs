// Independent safetensors reader for smelt's tests (plain JS, no smelt code): parses the header
// of FILE and checks it against the format's rules as the reference implementation enforces them
// (8-byte little-endian length, JSON header, known dtype, size = prod(shape) * dtype size, tensors
// tiling the data buffer without holes or overlap). Prints one JSON object:
//   {"header_length", "data_start", "file_size", "metadata", "problems": [...],
//    "tensors": [{"name", "dtype", "shape", "begin", "end", "sum", "first": [up to 4 values]}]}
// "sum" adds the values as float64 in storage order, so a C++ reader doing the same gets the same bits.
// Usage: node safetensors_inspect.mjs FILE
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const buf = readFileSync(file);
const problems = [];
const dtypeSize = { BF16: 2, F16: 2, F32: 4, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function f16(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const scratch = new DataView(new ArrayBuffer(4));
function bf16(h) {
  scratch.setUint32(0, h << 16 >>> 0, false);
  return scratch.getFloat32(0, false);
}

const n = Number(buf.readBigUInt64LE(0));
const dataStart = 8 + n;
const header = JSON.parse(buf.subarray(8, dataStart).toString('utf8'));
const dataSize = buf.length - dataStart;
const out = { header_length: n, data_start: dataStart, file_size: buf.length, metadata: header.__metadata__ ?? null,
              problems, tensors: [] };
for (const [name, t] of Object.entries(header)) {
  if (name === '__metadata__') continue;
  const size = dtypeSize[t.dtype];
  if (!size) { problems.push(`${name}: unknown dtype ${t.dtype}`); continue; }
  const [begin, end] = t.data_offsets;
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (end - begin !== count * size) problems.push(`${name}: size ${end - begin} != ${count} * ${size}`);
  if (end > dataSize) problems.push(`${name}: end ${end} past data size ${dataSize}`);
  let sum = 0;
  const first = [];
  const view = new DataView(buf.buffer, buf.byteOffset + dataStart + begin, end - begin);
  for (let i = 0; i < count; i++) {
    let v;
    if (t.dtype === 'F32') v = view.getFloat32(i * 4, true);
    else if (t.dtype === 'F16') v = f16(view.getUint16(i * 2, true));
    else if (t.dtype === 'BF16') v = bf16(view.getUint16(i * 2, true));
    else break;
    sum += v;
    if (first.length < 4) first.push(v);
  }
  out.tensors.push({ name, dtype: t.dtype, shape: t.shape, begin, end, sum, first });
}
// The reference implementation requires the tensors to tile the buffer exactly.
const sorted = [...out.tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
let at = 0;
for (const t of sorted) {
  if (t.begin !== at) problems.push(`${t.name}: starts at ${t.begin}, expected ${at} (hole or overlap)`);
  at = t.end;
}
if (at !== dataSize) problems.push(`tensors end at ${at} but the data is ${dataSize} bytes`);
process.stdout.write(JSON.stringify(out) + '\n');
