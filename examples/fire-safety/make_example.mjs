// Renders content.mjs to guide.pdf (pdfkit, multi-page with a running header and page footer)
// and guide.docx (docx). Run from the repo root after scripts/setup.sh:
//   node examples/fire-safety/make_example.mjs
// The outputs are committed; this script documents how they were made.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { title, sections } from './content.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/tools/package.json'));
const PDFDocument = require('pdfkit');
const docx = require('docx');
const font = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';  // Latin + CJK glyphs

function makePdf(file) {
  const doc = new PDFDocument({ size: 'A4', margins: { top: 72, bottom: 72, left: 64, right: 64 }, bufferPages: true,
                                info: { Title: title }, compress: true });
  doc.pipe(fs.createWriteStream(file));
  doc.font(font, 'WenQuanYiMicroHei');
  doc.fontSize(20).text(title);
  doc.moveDown();
  sections.forEach((s, i) => {
    if (i === 2 || i === 5) doc.addPage();
    doc.fontSize(15).text(s.heading);
    doc.moveDown(0.4);
    for (const p of s.paragraphs) {
      doc.fontSize(11).text(p, { align: 'left' });
      doc.moveDown(0.6);
    }
    if (s.table) {
      const widths = [170, 170, 127];
      for (const row of s.table) {
        const top = doc.y;
        let x = doc.page.margins.left;
        let bottom = top;
        row.forEach((cell, c) => {
          doc.fontSize(9).text(cell, x, top, { width: widths[c] - 8 });
          bottom = Math.max(bottom, doc.y);
          x += widths[c];
        });
        doc.x = doc.page.margins.left;
        doc.y = bottom + 6;
      }
      doc.moveDown();
    }
  });
  const range = doc.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(i);
    doc.fontSize(8).text('Household Fire Alarms — smelt example', 64, 40, { lineBreak: false });
    doc.fontSize(8).text(`Page ${i + 1} of ${range.count}`, 64, doc.page.height - 50, { lineBreak: false });
  }
  doc.end();
}

async function makeDocx(file) {
  const { Document, Packer, Paragraph, HeadingLevel, Table, TableRow, TableCell, WidthType } = docx;
  const children = [new Paragraph({ text: title, heading: HeadingLevel.TITLE })];
  for (const s of sections) {
    children.push(new Paragraph({ text: s.heading, heading: HeadingLevel.HEADING_1 }));
    for (const p of s.paragraphs) children.push(new Paragraph({ text: p }));
    if (s.table) {
      children.push(new Table({
        width: { size: 100, type: WidthType.PERCENTAGE },
        rows: s.table.map((row) => new TableRow({
          children: row.map((cell) => new TableCell({ children: [new Paragraph({ text: cell })] })),
        })),
      }));
    }
  }
  const document = new Document({ creator: 'smelt', title, sections: [{ children }] });
  fs.writeFileSync(file, await Packer.toBuffer(document));
}

makePdf(path.join(here, 'guide.pdf'));
await makeDocx(path.join(here, 'guide.docx'));
console.log('wrote guide.pdf and guide.docx');
