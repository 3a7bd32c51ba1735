"""Label bytes for the sandboxes: a real one-page 4x6 in PDF (reportlab) and ZPL."""

from __future__ import annotations

import io


def render_pdf_label(tracking: str, lines: list[str]) -> bytes:
    """A one-page 4x6 in PDF label (reportlab), or a hand-written minimal PDF."""
    try:
        from reportlab.lib.units import inch
        from reportlab.pdfgen import canvas
    except ImportError:  # pragma: no cover - reportlab is a requirement of Odoo
        return _minimal_pdf(tracking)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=(4 * inch, 6 * inch))
    pdf.setTitle(f"Label {tracking}")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(0.3 * inch, 5.5 * inch, "SHIPSYNC SANDBOX")
    pdf.setFont("Helvetica", 10)
    y = 5.1 * inch
    for line in lines:
        pdf.drawString(0.3 * inch, y, line[:60])
        y -= 0.2 * inch
    pdf.setFont("Courier-Bold", 14)
    pdf.drawString(0.3 * inch, 1.0 * inch, tracking)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _minimal_pdf(text: str) -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 12 Tf 20 400 Td ({text}) Tj ET".encode()
    objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out, offsets = [b"%PDF-1.4\n"], []
    for i, obj in enumerate(objs, 1):
        offsets.append(sum(len(x) for x in out))
        out.append(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = sum(len(x) for x in out)
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    out += [b"%010d 00000 n \n" % o for o in offsets]
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
               % (len(objs) + 1, xref))
    return b"".join(out)


def render_zpl_label(tracking: str, lines: list[str]) -> bytes:
    body = ["^XA", "^CF0,40", "^FO30,30^FDSHIPSYNC SANDBOX^FS", "^CF0,25"]
    for i, line in enumerate(lines):
        body.append(f"^FO30,{100 + 35 * i}^FD{line[:40]}^FS")
    body += [f"^FO30,600^BCN,120,Y,N,N^FD{tracking}^FS", "^XZ"]
    return ("\n".join(body) + "\n").encode()
