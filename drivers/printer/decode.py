"""Read ESC/POS bytes back into what a person would see on the paper.

The decoder follows the printer's own rules for the commands our documents use
(Epson ESC/POS, standard mode): text goes into a line buffer and is printed by LF
(or ``ESC d``); ``ESC a`` only takes effect at the beginning of a line; ``ESC @``
clears the buffer and resets every mode; the QR code stored with ``GS ( k``
function 180 appears when function 181 prints it; ``GS V`` cuts only at the
beginning of a line. Other commands are skipped by their documented length;
unknown ones are skipped as two bytes and listed in ``problems``. Nothing here
raises on bad input: data that ends inside a command sets ``truncated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from escpos.capabilities import CAPABILITIES

Align = Literal["left", "center", "right"]

ESC = 0x1B
GS = 0x1D
FS = 0x1C
DLE = 0x10
LF = 0x0A
CR = 0x0D
HT = 0x09
FF = 0x0C

_TAB_COLUMNS = 8
_MAX_PROBLEMS = 100
_UNKNOWN_CHAR = "\ufffd"


@dataclass(frozen=True, slots=True)
class DecodedSpan:
    """A run of characters printed in one style."""

    text: str
    width_mult: int = 1
    height_mult: int = 1
    bold: bool = False
    underline: bool = False
    inverted: bool = False


@dataclass(frozen=True, slots=True)
class DecodedLine:
    """One printed line.

    ``width_mult`` and ``height_mult`` are the largest in the line; ``bold``,
    ``inverted`` and ``underline`` are True when every span with text has them.
    ``wrapped`` marks a line the printer broke because it was wider than the paper
    (only when the decoder was given ``columns``).
    """

    text: str
    width_mult: int = 1
    height_mult: int = 1
    bold: bool = False
    align: Align = "left"
    inverted: bool = False
    underline: bool = False
    spans: tuple[DecodedSpan, ...] = ()
    wrapped: bool = False

    @property
    def columns(self) -> int:
        """Columns the line takes on paper (double width counts twice)."""
        if not self.spans:
            return len(self.text) * self.width_mult
        return sum(len(span.text) * span.width_mult for span in self.spans)


@dataclass(frozen=True, slots=True)
class DecodedQRCode:
    """A QR code printed with ``GS ( k`` (function 181 after 180)."""

    payload: str
    model: int = 2
    module_dots: int = 3
    error_correction: str = "L"
    align: Align = "left"


@dataclass(frozen=True, slots=True)
class DecodedBarcode:
    """A barcode printed with ``GS k``; ``data`` without code set selectors."""

    symbology: str
    data: str
    hri: Literal["none", "above", "below", "both"] = "none"
    module_dots: int = 3
    height_dots: int = 162
    align: Align = "left"


@dataclass(frozen=True, slots=True)
class DecodedCut:
    partial: bool


DecodedElement = DecodedLine | DecodedQRCode | DecodedBarcode | DecodedCut


@dataclass
class DecodedDocument:
    """Everything printed, in order (``elements``) and by kind."""

    elements: list[DecodedElement] = field(default_factory=list)
    lines: list[DecodedLine] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    barcodes: list[tuple[str, str]] = field(default_factory=list)
    cuts: int = 0
    code_pages: list[int] = field(default_factory=list)
    initialised: bool = False
    truncated: bool = False
    #: Text left in the line buffer at the end: the printer has not printed it.
    pending_text: str = ""
    #: Skipped unknown commands and commands the printer would ignore, readable.
    problems: list[str] = field(default_factory=list)
    #: Raster or bit images skipped (our documents have none).
    images: int = 0

    @property
    def text(self) -> str:
        """All printed text lines, joined with newlines."""
        return "\n".join(line.text for line in self.lines)


class _Truncated(Exception):
    """The data ended inside a command."""


@cache
def _upper_half(code_page_name: str) -> tuple[str, ...]:
    """Characters for bytes 0x80-0xFF of a code page, by python-escpos's database."""
    encodings: dict[str, Any] = CAPABILITIES["encodings"]
    info = encodings.get(code_page_name, {})
    if "data" in info:
        chars = list("".join(info["data"]))
        if len(chars) == 128:
            return tuple(chars)
    codec = info.get("python_encode")
    table: list[str] = []
    for byte in range(0x80, 0x100):
        try:
            table.append(bytes((byte,)).decode(codec) if codec else _UNKNOWN_CHAR)
        except (UnicodeDecodeError, LookupError):
            table.append(_UNKNOWN_CHAR)
    return tuple(table)


@cache
def _code_page_names(profile: str) -> dict[int, str]:
    profiles: dict[str, Any] = CAPABILITIES["profiles"]
    data = profiles.get(profile) or profiles["default"]
    pages: dict[str, str] = data.get("codePages", {})
    return {int(number): name for number, name in pages.items()}


_BARCODE_NAMES: dict[int, str] = {
    0: "UPC-A",
    1: "UPC-E",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1-128",
    75: "GS1 DATABAR OMNIDIRECTIONAL",
    76: "GS1 DATABAR TRUNCATED",
    77: "GS1 DATABAR LIMITED",
    78: "GS1 DATABAR EXPANDED",
}

_HRI: dict[int, Literal["none", "above", "below", "both"]] = {
    0: "none",
    48: "none",
    1: "above",
    49: "above",
    2: "below",
    50: "below",
    3: "both",
    51: "both",
}

_ALIGN: dict[int, Align] = {
    0: "left",
    48: "left",
    1: "center",
    49: "center",
    2: "right",
    50: "right",
}

_QR_ERROR_CORRECTION = {48: "L", 49: "M", 50: "Q", 51: "H"}

# Commands skipped by a fixed number of parameter bytes (Epson ESC/POS reference).
_ESC_FIXED: dict[int, int] = {
    ord(" "): 1,  # ESC SP n: right-side character spacing
    ord("%"): 1,  # ESC % n: user-defined character set
    ord("?"): 1,  # ESC ? n: cancel user-defined character
    ord("2"): 0,  # ESC 2: default line spacing
    ord("3"): 1,  # ESC 3 n: line spacing
    ord("<"): 0,  # ESC <: return home
    ord("="): 1,  # ESC = n: select peripheral device
    ord("G"): 1,  # ESC G n: double-strike
    ord("L"): 0,  # ESC L: page mode
    ord("M"): 1,  # ESC M n: character font
    ord("R"): 1,  # ESC R n: international character set
    ord("S"): 0,  # ESC S: standard mode
    ord("T"): 1,  # ESC T n: print direction in page mode
    ord("U"): 1,  # ESC U n: unidirectional printing
    ord("V"): 1,  # ESC V n: 90 degree rotation
    ord("W"): 8,  # ESC W: print area in page mode
    ord("$"): 2,  # ESC $ nL nH: absolute print position
    ord("\\"): 2,  # ESC \ nL nH: relative print position
    ord("e"): 1,  # ESC e n: print and reverse feed
    ord("p"): 3,  # ESC p m t1 t2: drawer kick pulse
    ord("r"): 1,  # ESC r n: print colour
    ord("u"): 1,  # ESC u n: peripheral status
    ord("v"): 0,  # ESC v: paper sensor status
    ord("{"): 1,  # ESC { n: upside-down printing
    ord("B"): 2,  # ESC B n t: buzzer (TM models with a buzzer)
}

_GS_FIXED: dict[int, int] = {
    ord("$"): 2,  # GS $: absolute vertical position in page mode
    ord("/"): 1,  # GS / m: print downloaded bit image
    ord(":"): 0,  # GS :: macro definition
    ord("E"): 1,  # GS E n: head energy (some models)
    ord("I"): 1,  # GS I n: transmit printer ID
    ord("L"): 2,  # GS L nL nH: left margin
    ord("P"): 2,  # GS P x y: motion units
    ord("T"): 1,  # GS T n: beginning of line
    ord("W"): 2,  # GS W nL nH: print area width
    ord("\\"): 2,  # GS \: relative vertical position in page mode
    ord("^"): 3,  # GS ^ r t m: execute macro
    ord("a"): 1,  # GS a n: automatic status back
    ord("b"): 1,  # GS b n: smoothing
    ord("c"): 0,  # GS c: print counter
    ord("g"): 4,  # GS g 0|2 m nL nH: maintenance counter
    ord("r"): 1,  # GS r n: transmit status
    ord("|"): 1,  # GS | n: print density
}


@dataclass
class _Mode:
    width: int = 1
    height: int = 1
    bold: bool = False
    underline: bool = False
    inverted: bool = False
    align: Align = "left"


class _Decoder:
    def __init__(self, data: bytes, columns: int | None, profile: str) -> None:
        self.data = data
        self.pos = 0
        self.columns = columns
        self.pages = _code_page_names(profile)
        self.doc = DecodedDocument()
        self.mode = _Mode()
        self.code_page = 0
        self.buffer: list[tuple[str, tuple[int, int, bool, bool, bool]]] = []
        self.buffer_columns = 0
        self.line_align: Align = "left"
        self.qr_model = 2
        self.qr_module = 3
        self.qr_error_correction = "L"
        self.qr_stored: bytes | None = None
        self.barcode_hri: Literal["none", "above", "below", "both"] = "none"
        self.barcode_width = 3
        self.barcode_height = 162

    # -- reading ---------------------------------------------------------------

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            self.pos = len(self.data)
            raise _Truncated
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def problem(self, message: str) -> None:
        if len(self.doc.problems) < _MAX_PROBLEMS:
            self.doc.problems.append(message)

    # -- text ------------------------------------------------------------------

    def char(self, byte: int) -> str:
        if byte < 0x80:
            return chr(byte)
        name = self.pages.get(self.code_page)
        if name is None:
            return _UNKNOWN_CHAR
        return _upper_half(name)[byte - 0x80]

    def text(self, raw: bytes) -> str:
        return "".join(self.char(b) for b in raw)

    def put(self, char: str) -> None:
        mode = self.mode
        if self.columns is not None and self.buffer_columns + mode.width > self.columns:
            # The printer prints a full buffer and goes on with the next line.
            self.flush(wrapped=True)
        if not self.buffer:
            self.line_align = mode.align
        style = (mode.width, mode.height, mode.bold, mode.underline, mode.inverted)
        self.buffer.append((char, style))
        self.buffer_columns += mode.width

    def flush(self, *, wrapped: bool = False) -> bool:
        """Print the line buffer (LF). Returns whether there was text in it."""
        if not self.buffer:
            return False
        spans: list[DecodedSpan] = []
        for char, style in self.buffer:
            if spans and _style_of(spans[-1]) == style:
                last = spans[-1]
                spans[-1] = DecodedSpan(last.text + char, *style)
            else:
                spans.append(DecodedSpan(char, *style))
        inked = [span for span in spans if span.text.strip()] or spans
        line = DecodedLine(
            text="".join(span.text for span in spans),
            width_mult=max(span.width_mult for span in spans),
            height_mult=max(span.height_mult for span in spans),
            bold=all(span.bold for span in inked),
            align=self.line_align,
            inverted=all(span.inverted for span in spans),
            underline=all(span.underline for span in inked),
            spans=tuple(spans),
            wrapped=wrapped,
        )
        self.add_line(line)
        self.buffer.clear()
        self.buffer_columns = 0
        return True

    def add_line(self, line: DecodedLine) -> None:
        self.doc.lines.append(line)
        self.doc.elements.append(line)

    def blank_line(self) -> None:
        self.add_line(
            DecodedLine(
                text="",
                width_mult=self.mode.width,
                height_mult=self.mode.height,
                align=self.mode.align,
            )
        )

    def line_feed(self) -> None:
        if not self.flush():
            self.blank_line()

    def feed_lines(self, count: int) -> None:
        # ESC d n prints the buffer and feeds n lines: the same as n LFs.
        printed = self.flush()
        for _ in range(count - 1 if printed and count else count):
            self.blank_line()

    # -- commands --------------------------------------------------------------

    def run(self) -> DecodedDocument:
        try:
            while self.pos < len(self.data):
                byte = self.byte()
                if byte == ESC:
                    self.esc()
                elif byte == GS:
                    self.gs()
                elif byte == FS:
                    self.fs()
                elif byte == DLE:
                    self.dle()
                elif byte in (LF, FF):
                    self.line_feed()
                elif byte == HT:
                    self.put(" ")
                    while (self.buffer_columns % _TAB_COLUMNS) and (
                        self.columns is None or self.buffer_columns < self.columns
                    ):
                        self.put(" ")
                elif byte < 0x20:
                    pass  # CR, BEL, CAN ...: no visible effect in standard mode
                else:
                    self.put(self.char(byte))
        except _Truncated:
            self.doc.truncated = True
        self.doc.pending_text = "".join(char for char, _ in self.buffer)
        return self.doc

    def esc(self) -> None:
        command = self.byte()
        mode = self.mode
        if command == ord("@"):
            # ESC @: clears the print buffer and resets modes and the code page.
            self.doc.initialised = True
            self.mode = _Mode()
            self.code_page = 0
            self.buffer.clear()
            self.buffer_columns = 0
            self.barcode_hri = "none"
            self.barcode_width = 3
            self.barcode_height = 162
        elif command == ord("t"):
            self.code_page = self.byte()
            self.doc.code_pages.append(self.code_page)
        elif command == ord("!"):
            # ESC ! n: bit 3 emphasized, bit 4 double height, bit 5 double width,
            # bit 7 underline (bit 0 selects font B, not tracked).
            n = self.byte()
            mode.bold = bool(n & 0x08)
            mode.height = 2 if n & 0x10 else 1
            mode.width = 2 if n & 0x20 else 1
            mode.underline = bool(n & 0x80)
        elif command == ord("E"):
            mode.bold = bool(self.byte() & 1)
        elif command == ord("-"):
            mode.underline = self.byte() in (1, 2, 49, 50)
        elif command == ord("a"):
            n = self.byte()
            align = _ALIGN.get(n)
            if align is None:
                self.problem(f"ESC a {n}: not an alignment")
            elif self.buffer:
                self.problem("ESC a ignored: not at the beginning of a line")
            else:
                mode.align = align
        elif command == ord("d"):
            self.feed_lines(self.byte())
        elif command == ord("J"):
            self.byte()
            self.flush()
        elif command in (ord("i"), ord("m")):
            self.cut(partial=True)  # obsolete one-byte partial cut
        elif command == ord("D"):
            # ESC D n1 ... nk NUL: horizontal tab positions.
            while self.byte() != 0:
                pass
        elif command == ord("*"):
            m = self.byte()
            n_low, n_high = self.take(2)
            self.take((n_low + 256 * n_high) * (1 if m in (0, 1) else 3))
            self.doc.images += 1
        elif command == ord("&"):
            # ESC & y c1 c2 [x d1...d(y*x)]...: define user characters.
            y, first, last = self.take(3)
            for _ in range(max(0, last - first + 1)):
                x = self.byte()
                self.take(y * x)
        elif command == ord("c"):
            self.take(2)  # ESC c 3 n / ESC c 4 n / ESC c 5 n
        elif command in _ESC_FIXED:
            self.take(_ESC_FIXED[command])
        else:
            self.problem(f"unknown command ESC 0x{command:02x} skipped")

    def gs(self) -> None:
        command = self.byte()
        mode = self.mode
        if command == ord("!"):
            # GS ! n: width multiplier in the high nibble, height in the low (0 = x1).
            n = self.byte()
            mode.width = (n >> 4 & 0x07) + 1
            mode.height = (n & 0x07) + 1
        elif command == ord("B"):
            mode.inverted = bool(self.byte() & 1)
        elif command == ord("V"):
            m = self.byte()
            if m in (65, 66, 97, 98, 103, 104):
                self.byte()
            elif m not in (0, 1, 48, 49):
                self.problem(f"GS V {m}: not a cut mode")
                return
            self.cut(partial=m in (1, 49, 66, 98, 104))
        elif command == ord("("):
            self.gs_paren()
        elif command == ord("k"):
            self.barcode()
        elif command == ord("H"):
            self.barcode_hri = _HRI.get(self.byte(), "none")
        elif command == ord("h"):
            self.barcode_height = self.byte()
        elif command == ord("w"):
            self.barcode_width = self.byte()
        elif command == ord("f"):
            self.byte()  # HRI font
        elif command == ord("v"):
            # GS v 0 m xL xH yL yH d1...dk: raster bit image, k = x bytes * y dots.
            self.take(2)
            x_low, x_high, y_low, y_high = self.take(4)
            self.take((x_low + 256 * x_high) * (y_low + 256 * y_high))
            self.doc.images += 1
        elif command == ord("*"):
            x, y = self.take(2)
            self.take(x * y * 8)
            self.doc.images += 1
        elif command == ord("8"):
            # GS 8 L p1 p2 p3 p4 ...: graphics with a four-byte length.
            self.byte()
            p = self.take(4)
            self.take(p[0] + (p[1] << 8) + (p[2] << 16) + (p[3] << 24))
            self.doc.images += 1
        elif command == ord("Q"):
            # GS Q 0 m xL xH yL yH d...: variable vertical size bit image.
            self.take(2)
            x_low, x_high, y_low, y_high = self.take(4)
            self.take((x_low + 256 * x_high) * (y_low + 256 * y_high))
            self.doc.images += 1
        elif command in _GS_FIXED:
            self.take(_GS_FIXED[command])
        else:
            self.problem(f"unknown command GS 0x{command:02x} skipped")

    def gs_paren(self) -> None:
        # GS ( X pL pH d1...dk with k = pL + 256 * pH.
        kind = self.byte()
        p_low, p_high = self.take(2)
        body = self.take(p_low + 256 * p_high)
        if kind == ord("L"):
            self.doc.images += 1
            return
        if kind != ord("k") or len(body) < 2 or body[0] != 49:
            return  # PDF417, MaxiCode, other settings: nothing we print
        function = body[1]
        args = body[2:]
        if function == 65 and args:  # function 165: QR model
            self.qr_model = args[0] - 48
        elif function == 67 and args:  # function 167: module size in dots
            self.qr_module = args[0]
        elif function == 69 and args:  # function 169: error correction level
            self.qr_error_correction = _QR_ERROR_CORRECTION.get(args[0], "?")
        elif function == 80 and args:  # function 180: store data (m = 48, then data)
            self.qr_stored = bytes(args[1:])
        elif function == 81:  # function 181: print the stored symbol
            if self.qr_stored is None:
                self.problem("QR print without stored data")
                return
            self.flush()
            payload = self.text(self.qr_stored)
            self.doc.qr_codes.append(payload)
            self.doc.elements.append(
                DecodedQRCode(
                    payload=payload,
                    model=self.qr_model,
                    module_dots=self.qr_module,
                    error_correction=self.qr_error_correction,
                    align=self.mode.align,
                )
            )

    def barcode(self) -> None:
        m = self.byte()
        if m <= 6:
            # Function A: GS k m d1...dk NUL.
            end = self.data.find(b"\x00", self.pos)
            if end < 0:
                self.take(len(self.data) - self.pos + 1)
            raw = self.take(end - self.pos)
            self.byte()
        elif 65 <= m <= 78:
            # Function B: GS k m n d1...dn.
            raw = self.take(self.byte())
        else:
            self.problem(f"GS k {m}: unknown barcode system")
            return
        symbology = _BARCODE_NAMES.get(m, f"barcode {m}")
        if symbology in ("CODE128", "GS1-128"):
            data = _code128_data(raw)
            if data is None:
                self.problem(f"{symbology} data without a valid code set: {raw!r}")
                return
        else:
            data = raw.decode("ascii", errors="replace")
        self.flush()
        self.doc.barcodes.append((symbology, data))
        self.doc.elements.append(
            DecodedBarcode(
                symbology=symbology,
                data=data,
                hri=self.barcode_hri,
                module_dots=self.barcode_width,
                height_dots=self.barcode_height,
                align=self.mode.align,
            )
        )

    def cut(self, *, partial: bool) -> None:
        if self.buffer:
            # GS V works only at the beginning of a line in standard mode.
            self.problem("cut ignored: not at the beginning of a line")
            return
        self.doc.cuts += 1
        self.doc.elements.append(DecodedCut(partial=partial))

    def fs(self) -> None:
        command = self.byte()
        if command in (ord("&"), ord("."), ord("P")):
            return  # Kanji mode on/off, no parameters
        if command in (ord("!"), ord("-"), ord("C"), ord("W")):
            self.byte()
        elif command in (ord("S"), ord("p")):
            self.take(2)
        elif command == ord("("):
            self.byte()
            p_low, p_high = self.take(2)
            self.take(p_low + 256 * p_high)
        else:
            self.problem(f"unknown command FS 0x{command:02x} skipped")

    def dle(self) -> None:
        command = self.byte()
        if command in (0x04, 0x05):  # DLE EOT n, DLE ENQ n: real-time status
            self.byte()
        elif command == 0x14:  # DLE DC4 fn ...
            function = self.byte()
            self.take(7 if function == 8 else 2)
        else:
            self.problem(f"unknown command DLE 0x{command:02x} skipped")


def _style_of(span: DecodedSpan) -> tuple[int, int, bool, bool, bool]:
    return (span.width_mult, span.height_mult, span.bold, span.underline, span.inverted)


def _code128_data(raw: bytes) -> str | None:
    """The characters a CODE128 symbol holds, without ``{A``/``{B``/``{C`` selectors.

    GS k m = 73: the data starts with a code set selector; ``{{`` is a literal
    ``{``; ``{S`` and ``{1``-``{4`` are shift and function characters (not data);
    in code set C every byte 0-99 is two digits.
    """
    code_set: str | None = None
    out: list[str] = []
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == ord("{"):
            if i + 1 >= len(raw):
                return None
            special = chr(raw[i + 1])
            i += 2
            if special in "ABC":
                code_set = special
            elif special == "{" and code_set is not None:
                out.append("{")
            elif special not in "S1234":
                return None
            continue
        if code_set is None:
            return None
        if code_set == "C":
            if byte > 99:
                return None
            out.append(f"{byte:02d}")
        else:
            out.append(chr(byte))
        i += 1
    return "".join(out) if code_set is not None else None


def decode_escpos(
    data: bytes, *, columns: int | None = None, profile: str = "default"
) -> DecodedDocument:
    """What ``data`` prints.

    ``columns``: the paper width in normal characters; when given, lines wider
    than the paper are broken as the printer breaks them (and marked ``wrapped``).
    ``profile``: the python-escpos profile whose numbering ``ESC t`` follows
    (``default`` is Epson's: 0 = CP437, 2 = CP850, 16 = CP1252, 19 = CP858).
    """
    return _Decoder(bytes(data), columns, profile).run()
