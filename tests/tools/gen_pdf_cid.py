# CJK test PDFs for tests/extract/pdf_test.cpp, made with reportlab (Debian python3-reportlab) into
# OUT/pdf/: Chinese in STSong-Light, a CID font that is not embedded, with the predefined CMap
# UniGB-UCS2-H of collection Adobe-GB1 (as in Chinese national standards), so poppler needs
# poppler-data to read it. Called by gen_pdf.mjs; what the text should be is asserted in C++.
# Usage: python3 gen_pdf_cid.py OUT_DIR
import os
import sys

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

pdfmetrics.registerFont(UnicodeCIDFont('STSong-Light'))


def line(c, text, x, y, size, font='Helvetica'):
    c.setFont(font, size)
    c.drawString(x, 792 - y, text)  # y from the top, like gen_pdf.mjs


# cid_gb1.pdf: 2 pages, a Latin title, Chinese paragraphs (wrapping) and Latin ones after them.
def mixed(path):
    c = canvas.Canvas(path, pagesize=(612, 792), invariant=1)
    song = 'STSong-Light'
    line(c, 'GB/T 35273 Sample Standard', 72, 72, 18, 'Helvetica-Bold')
    line(c, '本标准规定了个人信息处理活动应遵循的原则和安全要求，', 72, 110, 11, song)
    line(c, '适用于各类组织的个人信息处理活动，也适用于主管监管部门', 72, 124, 11, song)
    line(c, '对个人信息处理活动进行监督、管理和评估。', 72, 138, 11, song)
    line(c, 'Latin text stays readable next to the Chinese', 72, 166, 11)
    line(c, 'paragraphs of the standard.', 72, 180, 11)
    c.showPage()
    line(c, '第二页的中文内容，', 72, 72, 11, song)
    line(c, '分两行排列。', 72, 86, 11, song)
    line(c, 'Second page in Latin.', 72, 114, 11)
    c.showPage()
    c.save()


# cid_gb1_only.pdf: 1 page of Chinese only (without poppler-data it has no text at all).
def chinese_only(path):
    c = canvas.Canvas(path, pagesize=(612, 792), invariant=1)
    line(c, '只有中文的页面。', 72, 72, 11, 'STSong-Light')
    c.showPage()
    c.save()


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: python3 gen_pdf_cid.py OUT_DIR')
    out = os.path.join(sys.argv[1], 'pdf')
    os.makedirs(out, exist_ok=True)
    mixed(os.path.join(out, 'cid_gb1.pdf'))
    chinese_only(os.path.join(out, 'cid_gb1_only.pdf'))
