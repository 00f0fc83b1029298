// Text-family test documents for tests/extract/web_test.cpp, written to OUT/web/: HTML pages
// (chrome to drop, entities, lists, tables, code, Chinese, a GBK page), an EPUB 3 zipped by hand
// with jszip, Markdown, TXT in UTF-8/UTF-16LE/UTF-16BE/GB18030, CSV, an EML from nodemailer's
// MailComposer, plus binary garbage and an empty file. Expected text lives in the C++ test.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import JSZip from 'jszip';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';

const utf8 = (s) => Buffer.from(new TextEncoder().encode(s));
const gb18030 = (s) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: utf8(s) });
function utf16(s, bigEndian) {
  const le = Buffer.from(s, 'utf16le');
  if (bigEndian) le.swap16();
  return Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), le]);
}

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ignored &amp; title</title>
<style>body { color: red; } p > a { x: "<p>not text</p>" }</style>
<script>var s = "<h1>not a heading</h1>"; if (a < b && c > d) {}</script>
</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li>Menu item</li></ul></nav>
<header><h1>Site banner</h1></header>
<main>
<h1>Guide to   <em>Smelting</em></h1>
<p>Tom &amp; Jerry&#39;s caf&eacute; costs &lt;5&gt; &#8364; &#x4E2D;&#25991;&nbsp;text.
Second   line in the same paragraph.<br>After a break.</p>
<!-- a comment <p>hidden</p> -->
<noscript><p>Enable JavaScript</p></noscript>
<h2>Steps</h2>
<ol>
<li>Heat the ore
<ul><li>slowly<li>evenly</ul>
<li>Pour <b>the</b> metal
</ol>
<p>Unclosed paragraph one
<p>Unclosed paragraph two
<h3>Table</h3>
<table>
<caption>Metals</caption>
<thead><tr><th>Metal<th>Melting point<th>Note</tr></thead>
<tbody>
<tr><td>Iron</td><td>1538 &deg;C</td><td>common</td></tr>
<tr><td>Tin<td colspan="2">232 &deg;C</tr>
</tbody>
</table>
<pre><code class="language-python">def melt(x):
    return x &lt; 2
</code></pre>
<p>中文段落：铁的熔点很高。</p>
<aside>Related links</aside>
<form><p>Subscribe</p></form>
<svg><text>svg text</text></svg>
<p><![CDATA[cdata text]]> and <template><p>tpl</p></template>end.</p>
</main>
<footer>Copyright footer</footer>
</body>
</html>
`;

const PAGE_ARTICLE = `<html><head><title>Two articles</title></head><body>
<div class="sidebar">Sidebar text outside the articles</div>
<article><header><h2>First post</h2></header><p>Body one.</p><footer>by A</footer></article>
<article><h2>Second post</h2><p>Body two.</p></article>
</body></html>`;

const PAGE_GBK = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>GBK</title></head>
<body><h1>简体中文页面</h1><p>编码是国标。</p></body></html>`;

function xhtml(title, body) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>${title}</title></head>
<body>${body}</body>
</html>`;
}

async function makeEpub(file) {
  const zip = new JSZip();
  // The mimetype member comes first and is stored uncompressed (EPUB OCF 3.0, 4.3).
  zip.file('mimetype', 'application/epub+zip', { compression: 'STORE' });
  zip.file(
    'META-INF/container.xml',
    `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>`,
  );
  // Manifest order (c3, c1, c2) differs from the spine order (c1, c2, c3).
  zip.file(
    'OEBPS/content.opf',
    `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:12345678-1234-1234-1234-123456789abc</dc:identifier>
    <dc:title>Test Book</dc:title>
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="c3" href="text/chapter3.xhtml" media-type="application/xhtml+xml"/>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="c1" href="text/chapter1.xhtml" media-type="application/xhtml+xml"/>
    <item id="css" href="style.css" media-type="text/css"/>
    <item id="c2" href="text/chapter%202.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine>
    <itemref idref="c1"/>
    <itemref idref="c2"/>
    <itemref idref="c3"/>
  </spine>
</package>`,
  );
  zip.file('OEBPS/nav.xhtml', xhtml('Contents', '<nav epub:type="toc"><ol><li>One</li></ol></nav>'));
  zip.file('OEBPS/style.css', 'p { margin: 0 }');
  zip.file(
    'OEBPS/text/chapter1.xhtml',
    xhtml('Ch 1', '<section><h1>Chapter One</h1><p>It was a dark night.</p><p>The end of one.</p></section>'),
  );
  zip.file(
    'OEBPS/text/chapter 2.xhtml',
    xhtml('Ch 2', '<h2>第二章</h2><p>中文内容。</p><ul><li>alpha</li><li>beta</li></ul>'),
  );
  zip.file('OEBPS/text/chapter3.xhtml', xhtml('Epilogue title', '<p>No heading here, only text.</p>'));
  fs.writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));

  const broken = new JSZip();
  broken.file('mimetype', 'application/epub+zip', { compression: 'STORE' });
  broken.file('OEBPS/content.opf', '<package/>');
  fs.writeFileSync(path.join(path.dirname(file), 'no_container.epub'), await broken.generateAsync({ type: 'nodebuffer' }));
}

const MARKDOWN = `---
title: front matter is skipped
---
# Markdown *Guide* #

Intro paragraph with **bold**, _emphasis_, \`code\` and a [link](https://example.com "t").
It continues on a second line; snake_case_name stays.

Setext Heading
==============

Sub heading
-----------

- apple
- banana
  - yellow
  - long
    continued item
- cherry

1. first
2. second

| Name | Qty |
|------|----:|
| a \\| b | 1 |
| ![img](x.png) | 2 |

\`\`\`js
const x = 1;

console.log(x);
\`\`\`

~~~
tilde fence
~~~

> A quote
> over two lines.

    indented code

***

中文第一行
中文第二行
`;

const TXT = '第一段：你好，世界。\nHello line two.\n\n\n第二段 second paragraph.\r\n';

function makeEml() {
  const mail = new MailComposer({
    from: '"张三" <zhang@example.com>',
    to: 'li@example.com, "Bob" <bob@example.com>',
    cc: 'carol@example.com',
    subject: '季度报告 Quarterly report',
    date: new Date('2024-03-05T10:20:30Z'),
    messageId: '<fixed@example.com>',
    text: '你好，\n\n请查看附件中的报告。\nSee the attached report.',
    html: '<p>HTML version <b>should not</b> be used.</p>',
    attachments: [
      { filename: '数据.csv', content: 'name,value\n"x, y",1\nz,2\n', contentType: 'text/csv' },
      { filename: 'notes.txt', content: 'Plain attachment text.' },
      { filename: 'archive.bin', content: Buffer.from([1, 2, 3, 4]), contentType: 'application/octet-stream' },
    ],
  });
  return new Promise((resolve, reject) => mail.compile().build((err, msg) => (err ? reject(err) : resolve(msg))));
}

// Deterministic pseudo-random bytes (LCG), so a failure reproduces.
function garbage(n) {
  const out = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; ++i) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export default async function (outDir) {
  const dir = path.join(outDir, 'web');
  fs.mkdirSync(dir, { recursive: true });
  const put = (name, data) => fs.writeFileSync(path.join(dir, name), data);
  put('page.html', utf8(PAGE));
  put('articles.html', utf8(PAGE_ARTICLE));
  put('page_gbk.html', gb18030(PAGE_GBK));
  await makeEpub(path.join(dir, 'book.epub'));
  put('broken.epub', Buffer.from('PK\x03\x04 this is not really a zip file'));
  put('notes.md', utf8(MARKDOWN));
  put('utf8.txt', utf8(TXT));
  put('utf8_bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(TXT)]));
  put('utf16le.txt', utf16(TXT, false));
  put('utf16be.txt', utf16(TXT, true));
  put('gb18030.txt', gb18030(TXT));
  put('data.csv', utf8('id,name,comment\n1,"Smith, John","said ""hi""\nthen left"\n2,王五,plain\n'));
  put('semicolon.csv', gb18030('产品;价格;备注\r\n苹果;3,5;"新鲜; 好"\r\n梨;4,0;\r\n'));
  put('data.tsv', utf8('a\tb\n1\t2\n'));
  put('unclosed.csv', utf8('a,b\n1,"never closed\n2,3\n'));
  put('mail.eml', await makeEml());
  put('garbage.txt', garbage(4096));
  put('garbage_no_nul.txt', garbage(4096).map((b) => b || 1));
  put('controls.txt', utf8('ok\x01\x02\x03\x04\x05\x06 text\x07\x08\x0e\x0f\x10\x11\n'));
  put('untitled.html', utf8('<title>Only &quot;title&quot;</title><div>Just a div<span> and span</span></div>'));
  put('empty.txt', Buffer.alloc(0));
}
