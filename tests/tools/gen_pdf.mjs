// Test PDFs for the PDF extractor (tests/extract/pdf_test.cpp), made with pdfkit into OUT/pdf/.
// Text is placed line by line at fixed x,y so line breaks (and the hyphenated word) are exact;
// what the extractor should make of them is asserted in the C++ test, not here. PDFs with
// non-embedded CID fonts, which pdfkit cannot write, come from reportlab (gen_pdf_cid.py).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';

const CJK_FONT = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';

function save(doc, file) {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file);
    out.on('finish', resolve);
    out.on('error', reject);
    doc.pipe(out);
    doc.end();
  });
}

function line(doc, text, x, y, size, font = 'Helvetica') {
  doc.font(font).fontSize(size).text(text, x, y, { lineBreak: false });
}

// Running header and "Page N of M" footer, the same on every page but for the numbers.
function furniture(doc, n, total) {
  line(doc, 'Smelt Handbook - Internal Draft 2024', 72, 30, 9);
  line(doc, `Page ${n} of ${total}`, 280, 750, 9);
}

// sample.pdf: 3 pages, English + Chinese, two heading sizes, a word hyphenated across lines, a
// bulleted list whose second item wraps.
async function sample(file) {
  const doc = new PDFDocument({ size: 'LETTER', margin: 72, info: { Title: 'Sample' } });
  const body = 11;
  furniture(doc, 1, 3);
  line(doc, 'Data Protection Basics', 72, 72, 20, 'Helvetica-Bold');
  line(doc, 'Personal data needs careful handling. Every team must apply protec-', 72, 110, body);
  line(doc, 'tion measures before sharing files with partners.', 72, 124, body);
  line(doc, 'Keep a record of who accessed which document and when.', 72, 152, body);
  line(doc, 'Retention', 72, 190, 15, 'Helvetica-Bold');
  line(doc, 'Delete raw exports after thirty days unless a', 72, 215, body);
  line(doc, 'legal hold applies.', 72, 229, body);

  doc.addPage();
  furniture(doc, 2, 3);
  line(doc, '中文部分', 72, 72, 20, CJK_FONT);
  line(doc, '数据保护是每个团队的责任，所有文件在共享之前', 72, 110, body, CJK_FONT);
  line(doc, '必须经过审查。', 72, 124, body, CJK_FONT);
  line(doc, 'Mixed pages keep their order from top to bottom.', 72, 152, body);

  doc.addPage();
  furniture(doc, 3, 3);
  line(doc, 'Summary', 72, 72, 15, 'Helvetica-Bold');
  line(doc, 'Protect data, keep records, and delete what you no', 72, 100, body);
  line(doc, 'longer need.', 72, 114, body);
  line(doc, '\u2022 Encrypt every laptop and every backup.', 72, 140, body);
  line(doc, '\u2022 Lock the screen when you step away from', 72, 154, body);
  line(doc, 'the desk.', 80, 168, body);
  await save(doc, file);
}

// columns.pdf: 2 pages of two-column text with a full-width title and bare page numbers.
async function columns(file) {
  const doc = new PDFDocument({ size: 'LETTER', margin: 72 });
  for (let p = 1; p <= 2; ++p) {
    if (p > 1) doc.addPage();
    line(doc, `Column Study ${p}`, 72, 72, 18, 'Helvetica-Bold');
    for (let i = 0; i < 6; ++i) {
      line(doc, `Left column line ${i + 1} of page ${p}.`, 72, 110 + i * 14, 11);
      line(doc, `Right column line ${i + 1} of page ${p}.`, 330, 110 + i * 14, 11);
    }
    line(doc, `${p}`, 300, 750, 10);
  }
  await save(doc, file);
}

// long.pdf: 40 pages, one heading and sentence each, running footer (read by several threads).
async function long(file) {
  const doc = new PDFDocument({ size: 'LETTER', margin: 72 });
  for (let p = 1; p <= 40; ++p) {
    if (p > 1) doc.addPage();
    line(doc, `Part ${p}`, 72, 72, 16, 'Helvetica-Bold');
    line(doc, `This sentence belongs to page number ${p}.`, 72, 110, 11);
    line(doc, `Long report, page ${p}`, 250, 750, 9);
  }
  await save(doc, file);
}

// scanned.pdf: shapes only, no text layer.
async function scanned(file) {
  const doc = new PDFDocument({ size: 'LETTER' });
  doc.rect(72, 72, 200, 100).fill('#336699');
  doc.circle(300, 400, 80).fill('#cc3333');
  doc.addPage();
  doc.moveTo(72, 72).lineTo(500, 600).lineWidth(4).stroke();
  await save(doc, file);
}

// encrypted.pdf: needs the user password "secret" to open.
async function encrypted(file) {
  const doc = new PDFDocument({ size: 'LETTER', userPassword: 'secret', ownerPassword: 'owner', pdfVersion: '1.7' });
  line(doc, 'Confidential text behind a password.', 72, 72, 12);
  await save(doc, file);
}

export default async function (outDir) {
  const dir = path.join(outDir, 'pdf');
  fs.mkdirSync(dir, { recursive: true });
  await sample(path.join(dir, 'sample.pdf'));
  await columns(path.join(dir, 'columns.pdf'));
  await long(path.join(dir, 'long.pdf'));
  await scanned(path.join(dir, 'scanned.pdf'));
  await encrypted(path.join(dir, 'encrypted.pdf'));
  // truncated.pdf: the first 60% of sample.pdf, cut mid-stream (no xref, no %%EOF).
  const whole = fs.readFileSync(path.join(dir, 'sample.pdf'));
  fs.writeFileSync(path.join(dir, 'truncated.pdf'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  // damaged.pdf: header and %%EOF present, nothing readable between them.
  fs.writeFileSync(path.join(dir, 'damaged.pdf'), '%PDF-1.4\n1 0 obj garbage <<< >>\nstream\nxxxx\n%%EOF\n');
  // not_pdf.pdf: a text file with a .pdf name.
  fs.writeFileSync(path.join(dir, 'not_pdf.pdf'), 'this is not a PDF at all\n');
  // cid_gb1*.pdf: Debian's python3 has python3-reportlab (a python3 earlier on PATH may lack it).
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gen_pdf_cid.py');
  execFileSync('/usr/bin/python3', [script, outDir], { stdio: 'inherit' });
}
