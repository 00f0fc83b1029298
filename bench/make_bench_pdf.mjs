// Generates the PDF benchmark input: a 300-page text PDF (headings, wrapped paragraphs, running
// header and "Page N of M" footer) with pdfkit from tests/tools/node_modules. Deterministic: the
// same bytes every run. Timing is bench/extract_pdf.sh's job.
// Usage: node bench/make_bench_pdf.mjs OUT.pdf [PAGES]
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/tools/package.json', import.meta.url));
const PDFDocument = require('pdfkit');

const out = process.argv[2];
const pages = Number(process.argv[3] || 300);
if (!out) {
  console.error('usage: node bench/make_bench_pdf.mjs OUT.pdf [PAGES]');
  process.exit(2);
}

const vocabulary = ('data protection record archive retention policy team partner review access control ' +
  'document storage backup encryption audit process request owner system network report schedule ' +
  'customer contract service quality incident response training update version release support')
  .split(' ');
let seed = 12345;
function next() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed;
}
function sentence() {
  const n = 8 + (next() % 12);
  const words = [];
  for (let i = 0; i < n; ++i) words.push(vocabulary[next() % vocabulary.length]);
  const s = words.join(' ');
  return s[0].toUpperCase() + s.slice(1) + '.';
}
function paragraph(sentences) {
  const parts = [];
  for (let i = 0; i < sentences; ++i) parts.push(sentence());
  return parts.join(' ');
}

const doc = new PDFDocument({ size: 'LETTER', margin: 72, autoFirstPage: false });
const stream = fs.createWriteStream(out);
doc.pipe(stream);
for (let p = 1; p <= pages; ++p) {
  doc.addPage();
  doc.font('Helvetica').fontSize(9).text('Benchmark Handbook - Internal Draft', 72, 30, { lineBreak: false });
  doc.text(`Page ${p} of ${pages}`, 280, 750, { lineBreak: false });
  let y = 72;
  if (p % 3 === 1) {
    doc.font('Helvetica-Bold').fontSize(16).text(`Section ${(p + 2) / 3}: ${sentence().slice(0, 40)}`, 72, y, {
      width: 468, lineBreak: false });
    y += 30;
  }
  doc.font('Helvetica').fontSize(10);
  // Paragraphs of 4 sentences until the page is nearly full; pdfkit wraps them at 468pt.
  while (y < 600) {
    const text = paragraph(4);
    const h = doc.heightOfString(text, { width: 468 });
    if (y + h > 700) break;
    doc.text(text, 72, y, { width: 468 });
    y += h + 10;
  }
}
doc.end();
await new Promise((resolve, reject) => {
  stream.on('finish', resolve);
  stream.on('error', reject);
});
