// Office test documents for tests/extract/office_test.cpp: DOCX (npm docx), PPTX (pptxgenjs), XLSX
// (exceljs), plus hand-written OOXML parts zipped with jszip for features those libraries do not emit
// (localised style ids, smart tags, inline strings, slide order differing from file names) and broken
// containers. Expected text lives in the C++ test, not here.
import fs from 'node:fs';
import path from 'node:path';
import {
  AlignmentType,
  Document,
  ExternalHyperlink,
  FootnoteReferenceRun,
  HeadingLevel,
  LevelFormat,
  Packer,
  PageBreak,
  Paragraph,
  Tab,
  Table,
  TableCell,
  TableRow,
  TextRun,
} from 'docx';
import pptxgen from 'pptxgenjs';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';

async function makeDocx(file) {
  const doc = new Document({
    creator: 'smelt tests',
    footnotes: { 1: { children: [new Paragraph('Figures are unaudited.')] } },
    numbering: {
      config: [
        {
          reference: 'steps',
          levels: [
            { level: 0, format: LevelFormat.DECIMAL, text: '%1.', alignment: AlignmentType.START },
            { level: 1, format: LevelFormat.LOWER_LETTER, text: '%2)', alignment: AlignmentType.START },
          ],
        },
      ],
    },
    styles: {
      paragraphStyles: [
        { id: 'Chapter', name: 'Chapter', basedOn: 'Normal', paragraph: { outlineLevel: 1 }, run: { bold: true } },
      ],
    },
    sections: [
      {
        children: [
          new Paragraph({ text: 'Quarterly Report', heading: HeadingLevel.TITLE }),
          new Paragraph({ text: 'Introduction 介绍', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({
            children: [
              new TextRun('This report covers '),
              new TextRun({ text: 'sales', bold: true }),
              new TextRun(' in 中国 and Europe.'),
              new FootnoteReferenceRun(1),
            ],
          }),
          new Paragraph({
            children: [new TextRun('Name'), new Tab(), new TextRun('Value'), new TextRun({ text: 'Second line', break: 1 })],
          }),
          new Paragraph({
            children: [
              new TextRun('See '),
              new ExternalHyperlink({ children: [new TextRun('the website')], link: 'https://example.com' }),
              new TextRun(' for details.'),
            ],
          }),
          new Paragraph({ text: 'Bullets', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'Apples', bullet: { level: 0 } }),
          new Paragraph({ text: 'Green apples', bullet: { level: 1 } }),
          new Paragraph({ text: 'Pears', bullet: { level: 0 } }),
          new Paragraph({ text: 'Steps', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'Open the box', numbering: { reference: 'steps', level: 0 } }),
          new Paragraph({ text: 'Check the contents', numbering: { reference: 'steps', level: 1 } }),
          new Paragraph({ text: 'Close the box', numbering: { reference: 'steps', level: 0 } }),
          new Paragraph({ children: [new PageBreak()] }),
          new Paragraph({ text: 'Figures', style: 'Chapter' }),
          new Table({
            rows: [
              new TableRow({
                children: ['Region', 'Q1', 'Q2'].map((t) => new TableCell({ children: [new Paragraph(t)] })),
              }),
              new TableRow({
                children: ['North', '10', '12'].map((t) => new TableCell({ children: [new Paragraph(t)] })),
              }),
              new TableRow({
                children: [
                  new TableCell({ children: [new Paragraph('南方')] }),
                  new TableCell({ children: [new Paragraph('n/a')], columnSpan: 2 }),
                ],
              }),
            ],
          }),
          new Paragraph('The end.'),
        ],
      },
    ],
  });
  fs.writeFileSync(file, await Packer.toBuffer(doc));
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ' +
  'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';

// Word as a German user saves it: style ids differ from the English names that identify headings.
async function makeCraftedDocx(file) {
  const zip = new JSZip();
  zip.file('[Content_Types].xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/main.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>`);
  zip.file('_rels/.rels', `<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/main.xml"/>
</Relationships>`);
  zip.file('word/_rels/main.xml.rels', `<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org/x" TargetMode="External"/>
</Relationships>`);
  zip.file('word/styles.xml', `<?xml version="1.0" encoding="UTF-8"?>
<w:styles ${W}>
<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="Titel"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="Gliederung"><w:name w:val="Gliederung"/><w:pPr><w:outlineLvl w:val="2"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Abgeleitet"><w:name w:val="Abgeleitet"/><w:basedOn w:val="Gliederung"/></w:style>
<w:style w:type="paragraph" w:styleId="Aufzaehlung"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="2"/></w:numPr></w:pPr></w:style>
</w:styles>`);
  zip.file('word/numbering.xml', `<?xml version="1.0" encoding="UTF-8"?>
<w:numbering ${W}>
<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
</w:numbering>`);
  zip.file('word/main.xml', `<?xml version="1.0" encoding="UTF-8"?>
<w:document ${W}><w:body>
<w:p><w:pPr><w:pStyle w:val="Titel"/></w:pPr><w:r><w:t>Handbuch</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="berschrift1"/></w:pPr><w:r><w:t xml:space="preserve">Erste </w:t></w:r><w:r><w:t>Schritte</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Gliederung"/></w:pPr><w:r><w:t>Gliederung drei</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Abgeleitet"/></w:pPr><w:r><w:t>Geerbt</w:t></w:r></w:p>
<w:p><w:pPr><w:outlineLvl w:val="1"/></w:pPr><w:r><w:t>Direkt zwei</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Call </w:t></w:r><w:smartTag w:element="place"><w:r><w:t>Berlin</w:t></w:r></w:smartTag><w:r><w:t xml:space="preserve"> via </w:t></w:r><w:hyperlink r:id="rId3"><w:r><w:t>the portal</w:t></w:r></w:hyperlink><w:r><w:t>.</w:t></w:r><w:del><w:r><w:delText>removed</w:delText></w:r></w:del><w:ins><w:r><w:t xml:space="preserve"> Added.</w:t></w:r></w:ins></w:p>
<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Inside a content control</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Eins</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Punkt</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Aufzaehlung"/></w:pPr><w:r><w:t>Aus dem Stil</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="0"/></w:numPr></w:pPr><w:r><w:t>Nummerierung aus</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>A</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>B</w:t></w:r></w:p><w:p><w:r><w:t>B2</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tbl><w:tr><w:tc><w:p><w:r><w:t>nested</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:tc><w:tc><w:p><w:r><w:t>x|y</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:sectPr/></w:body></w:document>`);
  fs.writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

async function makePptx(file) {
  const pres = new pptxgen();
  pres.layout = 'LAYOUT_16x9';
  pres.defineSlideMaster({
    title: 'MASTER',
    objects: [
      { placeholder: { options: { name: 'title', type: 'title', x: 0.5, y: 0.2, w: 9, h: 1 }, text: '' } },
      { placeholder: { options: { name: 'body', type: 'body', x: 0.5, y: 1.4, w: 9, h: 4 }, text: '' } },
    ],
  });
  const s1 = pres.addSlide({ masterName: 'MASTER' });
  s1.addText('Welcome 欢迎', { placeholder: 'title' });
  s1.addText('Smelt turns documents into data.', { x: 0.5, y: 1.5, w: 9, h: 1 });
  s1.addNotes('Greet the audience.');

  const s2 = pres.addSlide({ masterName: 'MASTER' });
  s2.addText('Agenda', { placeholder: 'title' });
  s2.addText(
    [
      { text: 'Extract', options: { bullet: true, breakLine: true } },
      { text: 'PDF and Office', options: { bullet: true, indentLevel: 1, breakLine: true } },
      { text: 'Train', options: { bullet: true } },
    ],
    { x: 0.5, y: 1.5, w: 9, h: 3 },
  );

  const s3 = pres.addSlide({ masterName: 'MASTER' });
  s3.addText('Results', { placeholder: 'title' });
  s3.addTable(
    [
      [{ text: 'Model' }, { text: 'Score' }],
      [{ text: 'base' }, { text: '61' }],
      [{ text: '微调' }, { text: '78' }],
    ],
    { x: 0.5, y: 1.5, w: 6 },
  );
  s3.addNotes('Mention the baseline.\nThen the tuned model.');
  await pres.writeFile({ fileName: file });

  // Same deck with slides 1 and 3 swapped in presentation order only (file names unchanged).
  const zip = await JSZip.loadAsync(fs.readFileSync(file));
  let xml = await zip.file('ppt/presentation.xml').async('string');
  const ids = xml.match(/<p:sldId [^>]*\/>/g);
  if (!ids || ids.length !== 3) throw new Error('gen_office: unexpected sldIdLst in pptxgenjs output');
  xml = xml.replace(ids.join(''), [ids[2], ids[1], ids[0]].join(''));
  zip.file('ppt/presentation.xml', xml);
  fs.writeFileSync(file.replace('.pptx', '_reordered.pptx'), await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

async function makeXlsx(file) {
  const wb = new ExcelJS.Workbook();
  const sales = wb.addWorksheet('Sales');
  sales.getCell('A1').value = 'Region';
  sales.getCell('B1').value = 'Units';
  sales.getCell('C1').value = 'Price';
  sales.getCell('A2').value = 'North';
  sales.getCell('B2').value = 1200;
  sales.getCell('C2').value = 3.5;
  sales.getCell('A3').value = '南方';
  sales.getCell('C3').value = 0.25; // B3 left empty: a gap
  sales.getCell('A4').value = 'Total';
  sales.getCell('B4').value = { formula: 'SUM(B2:B3)', result: 1200 };
  sales.getCell('C4').value = true;
  sales.getCell('F9').style = { font: { bold: true } }; // styled but empty: must not widen the table
  const notes = wb.addWorksheet('备注');
  notes.getCell('B2').value = 'only cell';
  notes.getCell('A1').value = -7;
  await wb.xlsx.writeFile(file);
}

// Hand-written workbook: inline strings, string formula results, errors, sheets whose order in
// workbook.xml differs from their file names, an empty sheet and a sheet that is not well-formed.
async function makeCraftedXlsx(file) {
  const zip = new JSZip();
  const S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
  zip.file('[Content_Types].xml', `<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
</Types>`);
  zip.file('_rels/.rels', `<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>`);
  zip.file('xl/workbook.xml', `<?xml version="1.0" encoding="UTF-8"?>
<workbook ${S}><sheets>
<sheet name="Second" sheetId="2" r:id="rId2"/>
<sheet name="Empty" sheetId="3" r:id="rId3"/>
<sheet name="First" sheetId="1" r:id="rId1"/>
<sheet name="Broken" sheetId="4" r:id="rId4"/>
</sheets></workbook>`);
  zip.file('xl/_rels/workbook.xml.rels', `<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet3.xml"/>
<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet4.xml"/>
</Relationships>`);
  zip.file('xl/worksheets/sheet1.xml', `<?xml version="1.0" encoding="UTF-8"?>
<worksheet ${S}><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>Key</t></is></c><c r="B1" t="inlineStr"><is><r><t>Val</t></r><r><t>ue</t></r></is></c></row>
<row r="2"><c r="A2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="B2" t="e"><v>#DIV/0!</v></c></row>
<row r="3"><c r="A3"><v>1.0E+3</v></c><c r="B3"><v>2.50</v></c></row>
<row r="4"><c r="A4" t="b"><v>0</v></c><c r="B4"><v>-0.0</v></c></row>
</sheetData></worksheet>`);
  zip.file('xl/worksheets/sheet4.xml', '<worksheet><sheetData><row>');
  // Cells without r attributes are placed one after another.
  zip.file('xl/worksheets/sheet2.xml', `<?xml version="1.0" encoding="UTF-8"?>
<worksheet ${S}><sheetData>
<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c></row>
<row><c t="inlineStr"><is><t>y</t></is></c><c r="C2"><v>3</v></c></row>
</sheetData></worksheet>`);
  zip.file('xl/worksheets/sheet3.xml', `<?xml version="1.0" encoding="UTF-8"?>
<worksheet ${S}><sheetData/></worksheet>`);
  fs.writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

// A workbook whose one sheet has a stray cell at the far corner of Excel's grid (XFD1048576).
async function makeWideXlsx(file) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Wide');
  ws.getCell('A1').value = 'corner';
  ws.getCell('B2').value = 2;
  ws.getCell('XFD1048576').value = 'far away';
  await wb.xlsx.writeFile(file);
}

// report.docx with its main part cut in the middle of a tag.
async function makeBadXmlDocx(source, file) {
  const zip = await JSZip.loadAsync(fs.readFileSync(source));
  const xml = await zip.file('word/document.xml').async('string');
  zip.file('word/document.xml', xml.slice(0, xml.indexOf('Introduction')));
  fs.writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

export default async function (outDir) {
  const dir = path.join(outDir, 'office');
  fs.mkdirSync(dir, { recursive: true });
  await makeDocx(path.join(dir, 'report.docx'));
  await makeCraftedDocx(path.join(dir, 'crafted.docx'));
  await makePptx(path.join(dir, 'deck.pptx'));
  await makeXlsx(path.join(dir, 'book.xlsx'));
  await makeCraftedXlsx(path.join(dir, 'crafted.xlsx'));
  await makeWideXlsx(path.join(dir, 'wide.xlsx'));
  await makeBadXmlDocx(path.join(dir, 'report.docx'), path.join(dir, 'bad_xml.docx'));

  const whole = fs.readFileSync(path.join(dir, 'report.docx'));
  fs.writeFileSync(path.join(dir, 'truncated.docx'), whole.subarray(0, Math.floor(whole.length / 2)));
  fs.writeFileSync(path.join(dir, 'not_a_zip.docx'), 'This is plain text, not a Word document.\n');
  // A valid ZIP without word/document.xml or any officeDocument relationship.
  const empty = new JSZip();
  empty.file('hello.txt', 'hi');
  fs.writeFileSync(path.join(dir, 'no_body.docx'), await empty.generateAsync({ type: 'nodebuffer' }));
  fs.writeFileSync(path.join(dir, 'no_body.pptx'), await empty.generateAsync({ type: 'nodebuffer' }));
  fs.writeFileSync(path.join(dir, 'no_body.xlsx'), await empty.generateAsync({ type: 'nodebuffer' }));
}
