"""Malformed and hostile files of every format qa reads, written fresh at test time (nothing large committed).

`write_hostile(folder)` writes them all into `folder` in a few seconds and returns {file name: why it is
hostile}. Every file is made with the standard library (zipfile structures, zlib, raw PDF syntax), plus
fpdf2 for a valid PDF to cut. Bombs are small on disk: a deflate stream of one block repeated
(each block ends with a full flush, so its bytes are the same every time) inflates to gigabytes from a
few MB. The AES-encrypted PDFs are real AES-128 (AESV2), made with the small AES and RC4 below (checked
against FIPS-197's example), so they read once the cryptography package is installed and the password
is empty.

Some files hold readable text around their hostile part: a reader may index those (the good text) or
skip them with a reason; what it may not do is crash, hang the build or blow up its memory.
`CANARY` is the text of a file (`canary.dat`, a type qa does not read) that the external-entity files
point at: it must never appear in anything qa extracts.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

CANARY = "zqxcanaryzqx the secret a hostile entity tries to pull in"
CANARY_FILE = "canary.dat"

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_GOOD_XML = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {_W}><w:body>{{body}}</w:body></w:document>')
_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?>{dtd}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                  'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relation'
                  'ships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
                  'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
                  'document.main+xml{entity}"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
         'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/officeDocument" Target="{target}"/></Relationships>')


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _laughs(levels: int = 10, root: str = "lol") -> str:
    """The billion laughs: each entity ten of the one before, `levels` deep (10^levels copies)."""
    lines = [f'<!ENTITY {root}0 "{root}">']
    lines += [f'<!ENTITY {root}{n} "{("&" + root + str(n - 1) + ";") * 10}">' for n in range(1, levels)]
    return "".join(lines)


# --- zip archives, written by hand so their headers can say anything -----------------------------------

class _Member:
    """One zip entry: `data` as stored (deflated when `method` is 8), with the CRC and size it declares."""

    def __init__(self, name: str, raw: bytes | None = None, *, data: bytes | None = None, method: int = 8,
                 crc: int | None = None, size: int | None = None, local_size: int | None = None) -> None:
        if raw is not None:
            data = _deflate(raw) if method == 8 else raw
            crc = zlib.crc32(raw) if crc is None else crc
            size = len(raw) if size is None else size
        assert data is not None and crc is not None and size is not None
        self.name, self.data, self.method, self.crc, self.size = name.encode(), data, method, crc, size
        self.local_size = size if local_size is None else local_size


def _deflate(raw: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(raw) + compressor.flush()


def _zip(members: list[_Member]) -> bytes:
    out = io.BytesIO()
    central = []
    for m in members:
        offset = out.tell()
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, m.method, 0, 0x21, m.crc, len(m.data),
                              m.local_size, len(m.name), 0) + m.name + m.data)
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, m.method, 0, 0x21, m.crc, len(m.data),
                                   m.size, len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), out.tell() - start, start, 0))
    return out.getvalue()


def _docx(document_xml: str | bytes, content_types: str | None = None, rels: str | None = None,
          extra: list[_Member] | None = None) -> bytes:
    """A minimal Word document around `document_xml`."""
    encode = (lambda s: s.encode("utf-8") if isinstance(s, str) else s)
    return _zip([
        _Member("[Content_Types].xml", encode(content_types or _CONTENT_TYPES.format(dtd="", entity=""))),
        _Member("_rels/.rels", encode(rels or _RELS.format(target="word/document.xml"))),
        _Member("word/document.xml", encode(document_xml)),
        *(extra or []),
    ])


def _repeated(chunk: bytes, times: int, wrapper: str = "raw") -> bytes:
    """`chunk` * `times` deflated without ever being built: one full-flushed block repeated (raw deflate,
    or wrapped as zlib data)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    if wrapper != "zlib":
        return block * times + tail
    adler = 1
    for _ in range(times):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + block * times + tail + struct.pack(">I", adler)


_CRCS: dict[tuple[bytes, bytes, int], int] = {}


def _crc_repeated(head: bytes, chunk: bytes, times: int) -> int:
    """CRC-32 of `head` + `chunk` * `times` (about 0.4 s a GB, so computed once)."""
    if (head, chunk, times) not in _CRCS:
        crc = zlib.crc32(head)
        for _ in range(times):
            crc = zlib.crc32(chunk, crc)
        _CRCS[(head, chunk, times)] = crc
    return _CRCS[(head, chunk, times)]


def _bomb_docx(lie: bool, member: str = "word/document.xml") -> bytes:
    """A Word document whose `member` inflates to 2.1 GB of empty paragraphs (from about 2.5 MB on disk);
    `lie`: its zip headers declare 2,000 bytes instead."""
    chunk = b"<w:p/>" * (1 << 17)                     # 768 KiB
    times = 2700                                      # about 2.1 GB
    head = f'<?xml version="1.0"?><w:document {_W}><w:body>'.encode()
    stream, crc = _repeated(chunk, times), _crc_repeated(head, chunk, times)
    # the document's head in a stored block of its own before the repeated ones (00, length, ~length)
    stored = b"\x00" + struct.pack("<HH", len(head), len(head) ^ 0xFFFF) + head
    size = len(head) + len(chunk) * times
    bomb = _Member(member, data=stored + stream, crc=crc, size=2000 if lie else size,
                   local_size=2000 if lie else size)
    parts = {"[Content_Types].xml": _CONTENT_TYPES.format(dtd="", entity="").encode(),
             "_rels/.rels": _RELS.format(target="word/document.xml").encode(),
             "word/document.xml": _GOOD_XML.format(body=_paragraph("A bomb sits beside this paragraph.")).encode()}
    members = [bomb if name == member else _Member(name, raw) for name, raw in parts.items()]
    if member not in parts:
        members.append(bomb)
    return _zip(members)


# --- PDF, written as raw syntax --------------------------------------------------------------------------

def _stream(data: bytes, compress: bool = True, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _pdf(objects: dict[int, bytes], trailer: bytes = b"/Root 1 0 R", size: int | None = None,
         startxref: bytes | None = None, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") -> bytes:
    """A PDF of the numbered objects, with a correct xref table unless told otherwise."""
    out = io.BytesIO()
    out.write(header)
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref = out.tell()
    top = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % top)
    for number in range(1, top):
        out.write(b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n")
    out.write(b"trailer\n<< /Size %d %s >>\nstartxref\n%s\n%%%%EOF\n"
              % (top if size is None else size, trailer, startxref or str(xref).encode()))
    return out.getvalue()


def _text_ops(*lines: str) -> bytes:
    body = b"".join(b"(%s) '\n" % line.encode("latin-1") for line in lines)
    return b"BT /F1 12 Tf 72 760 Td 14 TL\n" + body + b"ET"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(contents: bytes, parent: int = 2) -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents %s >>" % (parent, contents))


def _simple_pdf(text: str = "Pelicans glide low over the harbour at dawn.", content: bytes | None = None,
                count: bytes = b"1", page_extra: bytes = b"", **options: object) -> bytes:
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count %s >>" % count,
               3: _page(b"4 0 R" + page_extra), 4: _stream(content or _text_ops(text)), 5: _FONT}
    return _pdf(objects, **options)  # type: ignore[arg-type]


def _many_pages_pdf(count: int, contents: bytes, first: bytes | None = None) -> bytes:
    """`count` pages all drawing content stream 4 (and page 1 drawing `first`, when given, as object 6)."""
    kids = list(range(10, 10 + count))
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               2: b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), count),
               4: contents, 5: _FONT}
    for number, kid in enumerate(kids):
        objects[kid] = _page(b"6 0 R" if first is not None and number == 0 else b"4 0 R")
    if first is not None:
        objects[6] = first
    return _pdf(objects)


def _report_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Page {number + 1}. Lighthouse keepers logged the storms of the northern coast. " * 8)
    return bytes(pdf.output())


# AES-128 (FIPS-197) and RC4, enough to write the standard security handler's AESV2 files.

def _aes_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 256, [0] * 256
    value = 1
    for power in range(255):
        exp[power], log[value] = value, power
        value ^= (value << 1) ^ (0x11B if value & 0x80 else 0)   # times 3
        value &= 0xFF
    sbox = []
    for byte in range(256):
        inverse = exp[(255 - log[byte]) % 255] if byte else 0
        s = inverse
        for shift in range(1, 5):
            s ^= ((inverse << shift) | (inverse >> (8 - shift))) & 0xFF
        sbox.append(s ^ 0x63)
    return sbox, exp


_SBOX, _ = _aes_tables()


def _xtime(b: int) -> int:
    return ((b << 1) ^ 0x1B) & 0xFF if b & 0x80 else b << 1


def _aes_keys(key: bytes) -> list[list[int]]:
    words = [list(key[i:i + 4]) for i in range(0, 16, 4)]
    rcon = 1
    for i in range(4, 44):
        word = list(words[i - 1])
        if i % 4 == 0:
            word = [_SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        words.append([a ^ b for a, b in zip(words[i - 4], word)])
    return [sum(words[r * 4:r * 4 + 4], []) for r in range(11)]


def _aes_block(keys: list[list[int]], block: bytes) -> bytes:
    state = [b ^ k for b, k in zip(block, keys[0])]
    for round_ in range(1, 11):
        state = [_SBOX[b] for b in state]
        state = [state[(i + 4 * (i % 4)) % 16] for i in range(16)]           # shift rows (column-major)
        if round_ < 10:
            mixed = []
            for c in range(4):
                a = state[4 * c:4 * c + 4]
                total = a[0] ^ a[1] ^ a[2] ^ a[3]
                mixed += [a[i] ^ total ^ _xtime(a[i] ^ a[(i + 1) % 4]) for i in range(4)]
            state = mixed
        state = [b ^ k for b, k in zip(state, keys[round_])]
    return bytes(state)


def _aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    keys = _aes_keys(key)
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    out, previous = [iv], iv
    for i in range(0, len(data), 16):
        previous = _aes_block(keys, bytes(a ^ b for a, b in zip(data[i:i + 16], previous)))
        out.append(previous)
    return b"".join(out)


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _aes_pdf(user_password: str, text: str) -> bytes:
    """One page of `text`, encrypted with AES-128 (V4, R4, AESV2) under `user_password`."""
    identifier = hashlib.md5(text.encode()).digest()
    permissions = -4
    owner_key = hashlib.md5((b"owner-secret" + _PAD)[:32]).digest()
    for _ in range(50):
        owner_key = hashlib.md5(owner_key).digest()
    owner = _rc4(owner_key, (user_password.encode() + _PAD)[:32])
    for step in range(1, 20):
        owner = _rc4(bytes(b ^ step for b in owner_key), owner)
    key = hashlib.md5((user_password.encode() + _PAD)[:32] + owner + struct.pack("<i", permissions) + identifier).digest()
    for _ in range(50):
        key = hashlib.md5(key).digest()
    user = _rc4(key, hashlib.md5(_PAD + identifier).digest())
    for step in range(1, 20):
        user = _rc4(bytes(b ^ step for b in key), user)
    user += bytes(16)
    content = _text_ops(text)
    object_key = hashlib.md5(key + struct.pack("<I", 4)[:3] + b"\x00\x00" + b"sAlT").digest()
    encrypted = _aes_cbc(object_key, hashlib.md5(b"iv" + identifier).digest(), content)
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               3: _page(b"4 0 R"), 4: b"<< /Length %d >>\nstream\n" % len(encrypted) + encrypted + b"\nendstream",
               5: _FONT,
               6: b"<< /Filter /Standard /V 4 /R 4 /Length 128 /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen "
                  b"/Length 16 >> >> /StmF /StdCF /StrF /StdCF /O <%s> /U <%s> /P %d >>"
                  % (owner.hex().encode(), user.hex().encode(), permissions)}
    return _pdf(objects, trailer=b"/Root 1 0 R /Encrypt 6 0 R /ID [<%s> <%s>]"
                % (identifier.hex().encode(), identifier.hex().encode()))


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# --- the corpus -----------------------------------------------------------------------------------------

def _files() -> dict[str, tuple[bytes, str]]:
    """{name: (content, why it is hostile)}."""
    report = _report_pdf()
    good_docx = _docx(_GOOD_XML.format(body=_paragraph("Harbour seals rest on the sandbanks at low tide.")))
    files: dict[str, tuple[bytes, str]] = {}

    def add(name: str, data: bytes | str, why: str) -> None:
        assert name not in files, name
        files[name] = (data.encode("utf-8") if isinstance(data, str) else data, why)

    # Word documents
    add("docx-bomb.docx", _bomb_docx(lie=False),
        "document.xml inflates to 2.1 GB of empty paragraphs, declared honestly (about 2.5 MB on disk)")
    add("docx-bomb-liar.docx", _bomb_docx(lie=True),
        "document.xml inflates to 2.1 GB while its zip headers declare 2,000 bytes")
    add("docx-bomb-in-styles.docx", _bomb_docx(lie=True, member="word/styles.xml"),
        "a good document.xml beside a styles.xml that inflates to 2.1 GB and declares 2,000 bytes")
    add("docx-billion-laughs.docx",
        _docx(f'<?xml version="1.0"?><!DOCTYPE w:document [{_laughs()}]><w:document {_W}><w:body>'
              f'{_paragraph("&lol9;")}</w:body></w:document>'),
        "billion laughs: an entity that expands to 10^9 copies in document.xml")
    add("docx-external-entity.docx",
        _docx(f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY leak SYSTEM "{CANARY_FILE}">'
              f'<!ENTITY leak2 SYSTEM "file:///etc/passwd">]><w:document {_W}><w:body>'
              f'{_paragraph("&leak; &leak2;")}</w:body></w:document>'),
        "external entities (a file beside it, /etc/passwd) in document.xml")
    add("docx-entity-in-content-types.docx",
        _docx(_GOOD_XML.format(body=_paragraph("Content types are declared with an entity.")),
              content_types=_CONTENT_TYPES.format(dtd=f"<!DOCTYPE Types [{_laughs()}]>", entity="&lol9;")),
        "billion laughs inside [Content_Types].xml")
    add("docx-malformed-xml.docx",
        _docx(f'<?xml version="1.0"?><w:document {_W}><w:body><w:p><w:r><w:t>unclosed</w:r></w:body>'),
        "document.xml is not well-formed XML")
    add("docx-tables-300-deep.docx",
        _docx(_GOOD_XML.format(body="<w:tbl><w:tr><w:tc>" * 300 + _paragraph("deep cell") + "</w:tc></w:tr></w:tbl>" * 300)),
        "tables nested 300 deep")
    add("docx-elements-100k-deep.docx",
        _docx(_GOOD_XML.format(body="<w:p><w:r>" + "<w:x>" * 100_000 + "</w:x>" * 100_000 + "</w:r></w:p>")),
        "XML elements nested 100,000 deep")
    add("docx-no-document.docx", _zip([_Member("[Content_Types].xml", _CONTENT_TYPES.format(dtd="", entity="").encode()),
                                       _Member("_rels/.rels", _RELS.format(target="word/document.xml").encode())]),
        "a zip whose relationships name a document.xml it does not hold")
    add("docx-rels-escape.docx",
        _docx(_GOOD_XML.format(body=_paragraph("x")), rels=_RELS.format(target="../../../../etc/passwd")),
        "its main part's relationship points outside the archive (../../../../etc/passwd)")
    add("docx-rels-self.docx", _docx(_GOOD_XML.format(body=_paragraph("x")), rels=_RELS.format(target="_rels/.rels")),
        "its main part is its own relationships file (a cycle)")
    add("docx-truncated.docx", good_docx[: len(good_docx) // 2], "a valid document cut in half (no central directory)")
    add("docx-bad-crc.docx", good_docx.replace(struct.pack("<I", zlib.crc32(
        _GOOD_XML.format(body=_paragraph("Harbour seals rest on the sandbanks at low tide.")).encode())), b"\0\0\0\0"),
        "every CRC of document.xml is wrong")
    add("docx-is-a-pdf.docx", _simple_pdf(), "a PDF named .docx")
    add("docx-empty.docx", b"", "zero bytes")
    add("docx-many-members.docx", _zip([_Member(f"word/media/m{i}.bin", b"", method=0) for i in range(20_000)]
                                       + [_Member("word/document.xml", _GOOD_XML.format(body=_paragraph("x")).encode())]),
        "20,000 zip members and no content types")
    add("docx-stored-huge-declared.docx",
        _zip([_Member("[Content_Types].xml", _CONTENT_TYPES.format(dtd="", entity="").encode()),
              _Member("_rels/.rels", _RELS.format(target="word/document.xml").encode()),
              _Member("word/document.xml", data=b"<", method=0, crc=0, size=0xFFFFFFF0)]),
        "a stored member that declares 4 GB and holds one byte")

    # PDF
    add("pdf-info-array.pdf", _simple_pdf(trailer=b"/Root 1 0 R /Info [1 2 3]"), "trailer /Info is an array")
    add("pdf-deep-title.pdf", _simple_pdf(trailer=b"/Root 1 0 R /Info << /Title " + b"[" * 5000 + b"]" * 5000 + b" >>"),
        "a /Title nested 5,000 arrays deep")
    add("pdf-startxref-21-digits.pdf", _simple_pdf(startxref=b"123456789012345678901"), "startxref is a 21-digit number")
    add("pdf-huge-xref-size.pdf", _simple_pdf(size=10 ** 12), "trailer /Size is 10^12")
    add("pdf-reference-cycles.pdf",
        _pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
              3: b"<< /Type /Pages /Kids [2 0 R] /Parent 3 0 R /Count 1 >>", 4: b"4 0 R", 5: _FONT}),
        "a page tree that contains itself, and an object that is a reference to itself")
    add("pdf-deep-page-tree.pdf",
        _pdf({1: b"<< /Type /Catalog /Pages 10 0 R >>", 4: _stream(_text_ops("deep")), 5: _FONT,
              **{10 + n: b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (11 + n) for n in range(3000)},
              3010: _page(b"4 0 R", parent=3009)}),
        "a page tree 3,000 levels deep")
    add("pdf-shared-stream-200-pages.pdf",
        _many_pages_pdf(200, b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
            (lambda s: (len(s), s))(_repeated(b"BT /F1 1 Tf 1 1 Td (x) Tj ET\n" * 1000, 2500, "zlib")))),
        "200 pages sharing one content stream that inflates to 70 MB (100 KB on disk)")
    long_page = b"BT /F1 8 Tf 36 780 Td 9 TL\n" + b"".join(
        b"(line %06d of a page that goes on and on, one hundred and twenty thousand lines) '\n" % n
        for n in range(120_000)) + b"ET"
    add("pdf-120000-lines.pdf",
        _many_pages_pdf(2, _stream(long_page), first=_stream(_text_ops("Gannets dive for mackerel off the headland."))),
        "one page of 120,000 lines (12 MB of content) after a page of ordinary text")
    add("pdf-aes-empty-password.pdf", _aes_pdf("", "Puffins nest in burrows on the outer island."),
        "AES-128 encrypted (AESV2) with an empty user password: readable with the cryptography package")
    add("pdf-aes-password.pdf", _aes_pdf("hunter2", "This text needs a password to read."),
        "AES-128 encrypted (AESV2) with a user password")
    add("pdf-truncated.pdf", report[: len(report) // 2], "a valid PDF cut in half")
    add("pdf-header-only.pdf", b"%PDF-1.7\n", "nothing after the header")
    add("pdf-is-a-png.pdf", _png(), "a PNG image named .pdf")
    add("pdf-empty.pdf", b"", "zero bytes")
    add("pdf-garbage.pdf", b"%PDF-1.4\n" + hashlib.sha512(b"seed").digest() * 2000, "a PDF header then 128 KB of noise")
    add("pdf-bad-filters.pdf",
        _pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              3: _page(b"[4 0 R 6 0 R 7 0 R]"), 5: _FONT,
              4: b"<< /Length 10 /Filter /FlateDecode >>\nstream\nnot zlib!!\nendstream",
              6: b"<< /Length 4 /Filter [/LZWDecode /ASCII85Decode /RunLengthDecode /JBIG2Decode] >>\nstream\n\xff\xfe\x00\x01\nendstream",
              7: b"<< /Length 999999 /Filter /ASCIIHexDecode >>\nstream\nZZZZ\nendstream"}),
        "content streams with broken, chained and unknown filters and a wrong /Length")
    add("pdf-count-lies.pdf", _simple_pdf(count=b"-2147483649"), "the page tree's /Count is a huge negative number")
    add("pdf-xref-stream-huge-widths.pdf",
        _pdf({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: _page(b"4 0 R"),
              4: _stream(_text_ops("x")), 5: _FONT,
              6: _stream(b"\x01" * 64, extra=b" /Type /XRef /Size 7 /W [1 2000000000 1] /Index [0 4294967295] /Root 1 0 R")},
             startxref=b"0"),
        "a cross-reference stream whose field widths and /Index claim billions of entries (and startxref 0)")
    add("pdf-deep-content.pdf", _simple_pdf(content=b"BT /F1 12 Tf " + b"[" * 20000 + b"(x)" + b"]" * 20000 + b" TJ ET",
                                            page_extra=b" /Annots " + b"[" * 5000 + b"]" * 5000),
        "a content stream and an annotation array nested 5,000-20,000 deep")

    # HTML
    add("html-100k-deep.html", "<html><body>" + "<div>" * 100_000 + "Deep text." + "</div>" * 100_000 + "</body></html>",
        "elements nested 100,000 deep")
    add("html-huge-attribute.html",
        '<html><body><p title="' + "A" * 5_000_000 + '">Avocets feed in the shallow lagoon.</p></body></html>',
        "a 5 MB attribute value")
    add("html-tables-300-deep.html", "<html><body>" + "<table><tr><td>" * 300 + "cell" + "</td></tr></table>" * 300
        + "</body></html>", "tables nested 300 deep")
    add("xhtml-billion-laughs.xhtml",
        f'<?xml version="1.0"?><!DOCTYPE html [{_laughs()}]><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        "<p>&lol9;</p></body></html>", "XHTML with the billion laughs")
    add("xhtml-external-entity.xhtml",
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY leak SYSTEM "{CANARY_FILE}">]>'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Leak: &leak;</p></body></html>',
        "XHTML with an external entity naming a file beside it")
    add("html-invalid-utf8.html", b'<html><head><meta charset="utf-8"></head><body><p>Bad \xff\xfe\xc3\x28 bytes '
        b"\xed\xa0\x80 and a lone surrogate.</p></body></html>", "declares UTF-8 and holds invalid bytes and a surrogate")
    add("html-nul-bytes.html", "<html><body><p>Nul\0bytes\0everywhere\0</p></body></html>" * 50, "NUL bytes in the markup")
    add("html-bogus-charset.html", b'<html><head><meta charset="x-no-such-charset-\xff"></head><body><p>Charset '
        b"unknown.</p></body></html>", "a charset that does not exist")
    add("html-unterminated-comment.html", "<html><body><p>Before</p><!--" + "x" * 1_000_000, "an unterminated comment of 1 MB")
    add("html-utf16-declared.html", '<html><head><meta charset="utf-16"></head><body><p>Declares UTF-16, is ASCII.</p>'
        "</body></html>", "declares a UTF-16 charset and holds single bytes")
    add("html-data-uri.html", '<html><body><p>Before the image.</p><img src="data:image/png;base64,' + "iVBOR" * 1_000_000
        + '"><p>After the image.</p></body></html>', "a 5 MB data: URI")
    add("html-is-a-zip.html", good_docx, "a Word document named .html")
    add("html-empty.html", b"", "zero bytes")
    add("html-escape-codes.html", "<html><body><p>Terminal \x1b]52;c;ZXZpbA==\x07 clipboard \x1b[2J\x1b[31m red "
        "\x9b6n</p></body></html>", "terminal escape sequences (OSC 52, clear screen, CSI) in the text")

    # plain text
    add("txt-invalid-utf8.txt", b"Invalid \xff\xfe\xc3\x28 UTF-8 in the middle of a sentence about curlews.\n",
        "invalid UTF-8 sequences")
    add("txt-utf16-no-bom.txt", "Little-endian UTF-16 without a byte order mark.\n".encode("utf-16-le") * 20,
        "UTF-16 without a BOM (every other byte NUL)")
    add("txt-nul-bytes.txt", b"Text with\0NUL bytes\0inside it.\n" * 10, "NUL bytes in text")
    add("txt-lone-surrogate.txt", "A lone surrogate \ud800 here.\n".encode("utf-8", "surrogatepass"),
        "a UTF-8-encoded lone surrogate (ED A0 80)")
    add("txt-utf16-bom-odd.txt", b"\xff\xfe" + "odd length".encode("utf-16-le") + b"\x00", "a UTF-16 BOM and an odd number of bytes")
    add("txt-10mb-one-line.txt", ("kittiwakes " * 950_000).encode(), "10 MB on one line, no line break")
    add("txt-escape-codes.txt", "Terminal \x1b]0;pwned\x07 title \x1b[2J clear \x1b[6n query \x1bP+q\x1b\\ bell \x07"
        " and \u202eright-to-left\u202c override.\n", "terminal escape and bidi control characters in the text")
    add("txt-elf.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40, "an ELF binary's head named .txt")
    add("txt-empty.txt", b"", "zero bytes")
    add("txt-whitespace.txt", " \n\t\n\r\n" * 1000, "nothing but whitespace")
    add("name-\x1b[31mred\x1b[0m-\x07bell.txt", "A file named with terminal escapes; its text is ordinary.\n",
        "escape and bell characters in the file name")
    add("name-new\nline-and-\u202etxt.md", "# Name\n\nA newline and a right-to-left override in the file name.\n",
        "a newline and a bidi override in the file name")

    # Markdown
    add("md-quotes-50k-deep.md", ">" * 50_000 + " deep quote\n", "a block quote nested 50,000 deep")
    add("md-lists-deep.md", "".join("  " * n + "- item\n" for n in range(1500)), "a list nested 1,500 levels (2 MB)")
    add("md-emphasis.md", "*a **b " * 100_000 + "\n", "200,000 unclosed emphasis markers on one line")
    add("md-unclosed-fence.md", "```\n" + "code line\n" * 200_000, "a code fence that never closes, 200,000 lines")
    add("md-unclosed-front-matter.md", "---\ntitle: &a [*a, *a]\n" + "key: value\n" * 100_000,
        "front matter that never ends, with a YAML alias bomb")
    add("md-headings.md", "#" * 10_000 + " heading\n" + "# h\n" * 100_000, "a 10,000-hash heading and 100,000 headings")
    add("md-table-wide.md", "|" + "c|" * 50_000 + "\n|" + "-|" * 50_000 + "\n", "a table 50,000 columns wide")
    return files


def write_hostile(folder: Path) -> dict[str, str]:
    """Write every hostile file into `folder` (made if needed); {file name: why it is hostile}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CANARY_FILE).write_text(CANARY + "\n")
    described = {}
    for name, (data, why) in _files().items():
        (folder / name).write_bytes(data)
        described[name] = why
    # a name that is not UTF-8 at all (a byte that decodes to a lone surrogate in Python)
    raw = os.fsencode(folder) + b"/name-not-utf8-\xff\xfe.txt"
    with open(raw, "wb") as out:
        out.write(b"A file whose name is not valid UTF-8.\n")
    described[os.fsdecode(b"name-not-utf8-\xff\xfe.txt")] = "a file name that is not valid UTF-8"
    # what is not a regular file inside the folder
    os.mkfifo(folder / "fifo.txt")
    described["fifo.txt"] = "a named pipe: reading it would block forever"
    (folder / "loop-a.md").symlink_to("loop-b.md")
    (folder / "loop-b.md").symlink_to("loop-a.md")
    described["loop-a.md"] = described["loop-b.md"] = "two symbolic links to each other"
    (folder / "passwd-link.txt").symlink_to("/etc/passwd")
    described["passwd-link.txt"] = "a symbolic link to /etc/passwd, outside the folder"
    return described


if __name__ == "__main__":   # python -m tests.hostile_files FOLDER: write the corpus to look at
    import sys
    import time

    started = time.perf_counter()
    for name, why in write_hostile(Path(sys.argv[1])).items():
        print(f"{name!r}: {why}")
    print(f"written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
