// Generates the test documents with real libraries (docx, pptxgenjs, exceljs, pdfkit, reportlab, jszip,
// nodemailer): runs every gen_*.mjs in this folder, each exporting `default async (outDir)`.
// Usage: node make_documents.mjs OUT_DIR
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node make_documents.mjs OUT_DIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const here = path.dirname(fileURLToPath(import.meta.url));
const generators = fs.readdirSync(here).filter((f) => /^gen_.*\.mjs$/.test(f)).sort();
for (const g of generators) {
  const mod = await import(pathToFileURL(path.join(here, g)).href);
  await mod.default(outDir);
  console.log(`${g}: ok`);
}
