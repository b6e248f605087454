"""Labels, slips and the test page, rendered as ESC/POS bytes.

Every document is built with python-escpos's :class:`escpos.printer.Dummy`, which
collects the bytes of each command instead of sending them. Only native commands
are used (text, sizes, ``GS ( k`` QR code, ``GS k`` CODE128, ``GS V`` cut), never
raster images, so an item label stays a few hundred bytes: a 9600-baud serial
printer takes under 1 kB per second.

Every job starts with ``ESC @`` (initialise) and ``ESC t n`` selecting the code
page explicitly (CP858 on Epson printers, ``n`` = 19 on the TM-T20II). Text is
encoded here to that code page and sent with ``_raw``: python-escpos's automatic
code page choice ("magic encode") would switch to a Greek page for the euro sign.
All strings arrive already translated, and weights already formatted (the
application formats, the driver prints: so a label says exactly what the screen
said); nothing here is shown in a user's language except what the caller passes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from escpos.constants import CODEPAGE_CHANGE, QR_ECLEVEL_M, QR_MODEL_2
from escpos.printer import Dummy

from drivers.printer.layout import (
    DEFAULT_PROFILE,
    PaperLayout,
    paper_layout,
    shorten,
    two_columns,
    wrap,
)

Align = Literal["left", "center", "right"]

#: QR code module size in dots (``GS ( k`` function 167): 6 dots at 203 dpi is
#: 0.75 mm, so a version 1 code is 16 mm wide, easy for a hand scanner.
QR_MODULE_DOTS = 6

#: CODE128 bar height in dots (``GS h``): about 6 mm at 203 dpi.
BARCODE_HEIGHT_DOTS = 48

#: Paper width assumed when the profile does not say (58 mm paper, 384 dots).
_FALLBACK_WIDTH_DOTS = 384

_DATE_FORMAT = "%d-%m-%Y"
_DATETIME_FORMAT = "%d-%m-%Y %H:%M"

_MAX_LABEL_CODE = 64


def _check_label_code(label_code: str) -> None:
    # The code goes into a QR code and a CODE128 symbol (code set B: ASCII 32-127)
    # and is matched by a hand scanner, so it is plain printable ASCII.
    if not label_code or len(label_code) > _MAX_LABEL_CODE:
        raise ValueError(f"a label code has 1 to {_MAX_LABEL_CODE} characters: {label_code!r}")
    if not all(" " <= c <= "~" for c in label_code):
        raise ValueError(f"a label code is printable ASCII only: {label_code!r}")


def _check_weight(weight: Any) -> None:
    # A number here would be printed in no one's format: the caller formats weights.
    if not isinstance(weight, str):
        raise TypeError(f"a weight is formatted text, not {type(weight).__name__}")
    if not weight.strip():
        raise ValueError("a weight must not be empty")


@dataclass(frozen=True, slots=True)
class ItemLabel:
    """The label stuck on one weighed item. Strings come translated from the app.

    ``weight`` is printed as given (``"12,34 kg"``). ``copy_marker`` (e.g. ``HERDRUK``
    or ``DUPLICAAT``) is printed inverted at the top of a reprint. ``manual`` marks a
    weight typed in by hand; ``manual_caption`` is the text that says so on the label.
    """

    label_code: str
    classification_title: str
    category: str
    eural_code: str | None
    weight: str
    recorded_at_local: datetime
    station_name: str
    copy_marker: str | None = None
    weight_caption: str = "Gewicht"
    manual: bool = False
    manual_caption: str | None = None
    datetime_format: str = _DATETIME_FORMAT

    def __post_init__(self) -> None:
        _check_label_code(self.label_code)
        _check_weight(self.weight)


def _check_count(count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"a count must be a whole number of 0 or more, not {count!r}")


#: A line of the totals slip: (label, weight) or (label, count, weight).
SlipRow = tuple[str, str] | tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class TotalsSlip:
    """Weights per classification or fraction for one day, on a slip.

    ``rows`` are (label, weight) or (label, count, weight) tuples printed in order,
    ``grand_total`` the weight under them (with ``grand_count``, when given); weights
    are printed as given (``"1.628,75 kg"``). When any line has a count, the counts
    stand in a column of their own before the weights, under a heading of
    ``count_caption`` and ``weight_caption``.
    """

    day: date
    station_name: str
    title: str
    rows: Sequence[SlipRow]
    grand_total_caption: str
    grand_total: str
    printed_at_local: datetime | None = None
    date_format: str = _DATE_FORMAT
    datetime_format: str = _DATETIME_FORMAT
    # Lines printed under the total as they are, e.g. the hash chain's anchor.
    footer_lines: Sequence[str] = ()
    grand_count: int | None = None
    count_caption: str = ""
    weight_caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "footer_lines", tuple(str(line) for line in self.footer_lines))
        rows: list[SlipRow] = []
        for row in self.rows:
            if len(row) == 3:
                label, count, weight = row
                _check_count(count)
                rows.append((str(label), count, weight))
            else:
                label, weight = row
                rows.append((str(label), weight))
        for row in rows:
            _check_weight(str(row[-1]))
        _check_weight(self.grand_total)
        if self.grand_count is not None:
            _check_count(self.grand_count)
        object.__setattr__(self, "rows", tuple(rows))

    @property
    def counted(self) -> bool:
        """True when the slip has a count column."""
        return self.grand_count is not None or any(len(row) == 3 for row in self.rows)


@dataclass
class _Style:
    width: int = 1
    height: int = 1
    bold: bool = False
    underline: int = 0
    invert: bool = False
    align: Align = "left"


@dataclass
class _Job:
    """One print job: a Dummy printer plus the text state already sent to it.

    Only changes of state are sent, which keeps a label small. All text passes
    through the layout's encoder, never through python-escpos's magic encoding.
    """

    layout: PaperLayout
    printer: Any = field(init=False)
    sent: _Style = field(init=False, default_factory=_Style)

    def __post_init__(self) -> None:
        self.printer = Dummy(profile=self.layout.profile_name)
        # ESC @: initialise (clears the buffer, resets every mode to the default
        # above, so ``sent`` is exact). ESC t n: select the character code table.
        self.printer.hw("INIT")
        self.printer._raw(CODEPAGE_CHANGE + bytes((self.layout.code_page,)))

    def style(
        self,
        *,
        width: int = 1,
        height: int = 1,
        bold: bool = False,
        underline: int = 0,
        invert: bool = False,
        align: Align = "left",
    ) -> None:
        sent = self.sent
        if (width, height) != (sent.width, sent.height):
            # GS ! n: character size, high nibble width-1, low nibble height-1.
            self.printer.set(custom_size=True, width=width, height=height)
            sent.width, sent.height = width, height
        if bold != sent.bold:
            self.printer.set(bold=bold)  # ESC E n
            sent.bold = bold
        if underline != sent.underline:
            self.printer.set(underline=underline)  # ESC - n
            sent.underline = underline
        if invert != sent.invert:
            self.printer.set(invert=invert)  # GS B n
            sent.invert = invert
        if align != sent.align:
            # ESC a n only works at the beginning of a line; every caller is there.
            self.printer.set(align=align)
            sent.align = align

    def raw_line(self, text: str) -> None:
        """Printable, fitted ``text`` and LF (print and feed one line)."""
        limit = self.layout.columns_at(self.sent.width)
        if len(text) > limit:
            raise ValueError(f"line of {len(text)} characters is wider than {limit}: {text!r}")
        self.printer._raw(self.layout.encode(text) + b"\n")

    def paragraph(
        self,
        text: str,
        *,
        max_lines: int | None = None,
        width: int = 1,
        height: int = 1,
        bold: bool = False,
        underline: int = 0,
        invert: bool = False,
        align: Align = "left",
    ) -> None:
        """``text`` wrapped to the paper at the given size; nothing for empty text."""
        lines = wrap(self.layout.printable(text), self.layout.columns, width, max_lines=max_lines)
        if not lines:
            return
        self.style(
            width=width, height=height, bold=bold, underline=underline, invert=invert, align=align
        )
        for line in lines:
            self.raw_line(line)

    def blank(self, count: int = 1) -> None:
        self.printer._raw(b"\n" * count)

    def rule(self, char: str = "-") -> None:
        self.style(align=self.sent.align)
        self.raw_line(char * self.layout.columns_at(1))

    def qr(self, payload: str) -> bool:
        """A native QR code (``GS ( k``): model 2, error correction M, centred.

        python-escpos sends functions 165 (model), 167 (module size), 169 (error
        correction), 180 (store the payload) and 181 (print). Returns False (and
        prints nothing) when the profile says the printer cannot make QR codes.
        """
        if not self.layout.qr_code:
            return False
        self.style(align="center")
        # A blank line either side keeps the quiet zone the QR specification asks
        # for (GS ( k function 181 notes: the user must secure it).
        self.blank()
        self.printer.qr(
            payload, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS, model=QR_MODEL_2, native=True
        )
        self.blank()
        return True

    def code128(self, payload: str) -> bool:
        """A CODE128 symbol (``GS k`` 73) in code set B without HRI text, centred.

        Returns False (and prints nothing) when the printer cannot make CODE128
        or the symbol is wider than the paper even at the narrowest bar width (the
        printer would silently drop it).
        """
        if not self.layout.barcode_b:
            return False
        # Code set B: start, one symbol per character, check, stop (13 modules).
        modules = 11 * (len(payload) + 2) + 13
        paper_dots = self.layout.width_dots or _FALLBACK_WIDTH_DOTS
        fitting = [w for w in (3, 2) if modules * w <= paper_dots]
        if not fitting:
            return False
        self.style(align="center")
        # "{B" selects code set B; a literal "{" is sent as "{{" (GS k, CODE128 notes).
        # _hw_barcode is the part of Escpos.barcode() that sends the native command;
        # barcode() itself prints progress messages to stdout.
        self.printer._hw_barcode(
            "{B" + payload.replace("{", "{{"),
            "CODE128",
            height=BARCODE_HEIGHT_DOTS,
            width=fitting[0],
            pos="OFF",
            font="A",
            align_ct=False,
            function_type="B",
            check=True,
        )
        return True

    def cut(self) -> None:
        """Feed past the cutter and cut partially: ``ESC d 6``, ``GS V 1``.

        Without a cutter python-escpos only feeds, so the paper can be torn off.
        """
        self.printer.cut(mode="PART")

    def output(self) -> bytes:
        return bytes(self.printer.output)


def _labelled(caption: str, value: str, limit: int) -> str:
    """``caption: value`` within ``limit`` columns, shortening the caption first."""
    if not caption:
        return shorten(value, limit)
    full = f"{caption}: {value}"
    if len(full) <= limit:
        return full
    room = limit - len(value) - 2
    if room < 1:
        return shorten(value, limit)
    return f"{shorten(caption, room, placeholder='.')}: {value}"


def render_item_label(label: ItemLabel, profile: str = DEFAULT_PROFILE) -> bytes:
    """The ESC/POS bytes of one item label for the printer ``profile``.

    Layout, centred: copy marker (inverted, large), classification (double width
    and height), category, EURAL code, weight (double height, bold), the manual
    entry note, date and time, station, label code (bold), QR code and CODE128 of
    the label code, feed and partial cut.
    """
    layout = paper_layout(profile)
    job = _Job(layout)
    if label.copy_marker:
        # A space either side keeps the letters off the edge of the black band.
        limit = layout.columns_at(2)
        marker = shorten(layout.printable(label.copy_marker), max(1, limit - 2))
        job.style(width=2, height=2, bold=True, invert=True, align="center")
        job.raw_line(f" {marker} " if len(marker) + 2 <= limit else marker)
    job.paragraph(
        label.classification_title, max_lines=2, width=2, height=2, bold=True, align="center"
    )
    job.paragraph(label.category, max_lines=2, align="center")
    if label.eural_code:
        job.paragraph(f"EURAL {label.eural_code}", max_lines=1, align="center")
    weight = layout.printable(label.weight)
    job.style(height=2, bold=True, align="center")
    job.raw_line(_labelled(layout.printable(label.weight_caption), weight, layout.columns))
    if label.manual:
        job.paragraph(label.manual_caption or "*", max_lines=1, bold=True, align="center")
    job.paragraph(
        label.recorded_at_local.strftime(label.datetime_format), max_lines=1, align="center"
    )
    job.paragraph(label.station_name, max_lines=1, align="center")
    job.paragraph(label.label_code, max_lines=1, height=2, bold=True, align="center")
    job.qr(label.label_code)
    job.code128(label.label_code)
    job.cut()
    return job.output()


def render_totals_slip(slip: TotalsSlip, profile: str = DEFAULT_PROFILE) -> bytes:
    """The ESC/POS bytes of a day totals slip: title, day, station, rows, grand total."""
    layout = paper_layout(profile)
    job = _Job(layout)
    job.paragraph(slip.title, max_lines=2, width=2, height=2, bold=True, align="center")
    job.paragraph(slip.day.strftime(slip.date_format), max_lines=1, bold=True, align="center")
    job.paragraph(slip.station_name, max_lines=1, align="center")
    job.style(align="left")
    job.rule()
    if slip.counted:
        _counted_lines(job, slip)
    else:
        for row in slip.rows:
            label, weight = layout.printable(row[0]), layout.printable(str(row[-1]))
            job.raw_line(two_columns(label, weight, layout.columns))
        job.rule()
        total = layout.printable(slip.grand_total)
        job.style(bold=True, height=2)
        job.raw_line(two_columns(layout.printable(slip.grand_total_caption), total, layout.columns))
    job.style(align="left")
    for line in slip.footer_lines:
        job.paragraph(line, max_lines=2, align="left")
    if slip.printed_at_local is not None:
        job.paragraph(
            slip.printed_at_local.strftime(slip.datetime_format), max_lines=1, align="right"
        )
    job.cut()
    return job.output()


def _counted_lines(job: _Job, slip: TotalsSlip) -> None:
    """The slip's lines with their counts: a heading over the count and weight columns,
    each line's label, count and weight, the rule and the total in bold."""
    layout = job.layout
    lines: list[tuple[str, str, str]] = [
        (
            layout.printable(row[0]),
            "" if len(row) == 2 else str(row[1]),
            layout.printable(str(row[-1])),
        )
        for row in slip.rows
    ]
    grand_count = "" if slip.grand_count is None else str(slip.grand_count)
    total = (
        layout.printable(slip.grand_total_caption),
        grand_count,
        layout.printable(slip.grand_total),
    )
    count_caption = layout.printable(slip.count_caption)
    weight_caption = layout.printable(slip.weight_caption)
    # One width per column for the whole slip, so counts and weights stand aligned.
    count_width = max(len(count_caption), *(len(count) for _, count, _ in [*lines, total]))
    weight_width = max(len(weight_caption), *(len(weight) for _, _, weight in [*lines, total]))

    def line(label: str, count: str, weight: str) -> str:
        limit = layout.columns
        numbers = f"{count.rjust(count_width)} {weight.rjust(weight_width)}"
        if len(numbers) + 2 > limit:  # paper too narrow for both columns: keep the weight
            return two_columns(label, f"{count} {weight}".strip(), limit)
        # Built here, not with two_columns: it would close up the columns' spaces.
        label = shorten(label, limit - len(numbers) - 1)
        return label + " " * (limit - len(label) - len(numbers)) + numbers

    if count_caption or weight_caption:
        job.raw_line(line("", count_caption, weight_caption))
    for label, count, weight in lines:
        job.raw_line(line(label, count, weight))
    job.rule()
    job.style(bold=True, height=2)
    job.raw_line(line(*total))


#: Characters every Dutch label needs; they decode back only on the right code page.
TEST_PAGE_CHARACTERS = "€ é ë ï ü"

#: Characters outside CP858 and what the test page shows instead.
TEST_PAGE_FALLBACK = "ł – ő"

TEST_PAGE_QR = "TEST-QR-0123"
TEST_PAGE_BARCODE = "TEST-128"


def render_test_page(profile: str = DEFAULT_PROFILE, station_name: str = "") -> bytes:
    """A page that shows what the printer can do with this profile's settings.

    Every text size, bold, underline, inverse, the three alignments, the code page
    and its test characters, a column ruler, a QR code and a CODE128 symbol, cut.
    Technician-facing, so the wording is plain English.
    """
    layout = paper_layout(profile)
    job = _Job(layout)
    job.paragraph("Printer test", max_lines=1, width=2, height=2, bold=True, align="center")
    job.paragraph(station_name, max_lines=1, align="center")
    job.paragraph(f"Profile {layout.profile_name}", max_lines=1, align="center")
    job.style(align="left")
    job.rule("=")
    job.paragraph(f"Code page {layout.code_page_name} (ESC t {layout.code_page})", max_lines=1)
    job.paragraph(f"Columns {layout.columns}", max_lines=1)
    ruler = "".join(str(i % 10) for i in range(1, layout.columns + 1))
    job.raw_line(ruler)
    for width, height, name in ((1, 1, "Normal"), (1, 2, "Tall"), (2, 1, "Wide"), (2, 2, "Large")):
        job.paragraph(f"{name} {width}x{height}", max_lines=1, width=width, height=height)
    job.paragraph("Bold", max_lines=1, bold=True)
    job.paragraph("Underline", max_lines=1, underline=1)
    job.style(invert=True)
    job.raw_line(" Inverse ")
    for align in ("left", "center", "right"):
        job.paragraph(align.capitalize(), max_lines=1, align=align)
    job.paragraph(f"Characters: {TEST_PAGE_CHARACTERS}", max_lines=1)
    job.paragraph(f"Fallback: {TEST_PAGE_FALLBACK}", max_lines=1)
    job.rule("=")
    job.paragraph(f"QR {TEST_PAGE_QR}", max_lines=1, align="center")
    job.qr(TEST_PAGE_QR)
    job.paragraph(f"CODE128 {TEST_PAGE_BARCODE}", max_lines=1, align="center")
    job.code128(TEST_PAGE_BARCODE)
    job.cut()
    return job.output()
