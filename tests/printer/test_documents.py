"""Item labels, totals slips and the test page: exact bytes, decoded back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.decode import DecodedBarcode, DecodedLine, decode_escpos
from drivers.printer.documents import (
    TEST_PAGE_BARCODE,
    TEST_PAGE_CHARACTERS,
    TEST_PAGE_QR,
    ItemLabel,
    TotalsSlip,
    render_item_label,
    render_test_page,
    render_totals_slip,
)
from drivers.printer.layout import (
    columns_for_profile,
    encode_text,
    paper_layout,
    printable,
    shorten,
    two_columns,
    wrap,
)

ESC = b"\x1b"
GS = b"\x1d"

# One printer profile per paper width: 48, 42 and 32 columns (font A).
PROFILES = {"TM-T20II": 48, "TM-T88V": 42, "Sunmi-V2": 32}


def plain_label(**changes: object) -> ItemLabel:
    fields: dict[str, object] = {
        "label_code": "MS01-000123",
        "classification_title": "HERGEBRUIK",
        "category": "Fietsen",
        "eural_code": "20 01 40",
        "weight": "12,34 kg",
        "recorded_at_local": datetime(2024, 5, 3, 14, 5),
        "station_name": "Milieustraat Noord",
    }
    fields.update(changes)
    return ItemLabel(**fields)  # type: ignore[arg-type]


def realistic_label() -> ItemLabel:
    """A label with everything on it and long texts: the largest a day brings."""
    return plain_label(
        classification_title="REPARATIE",
        category="Elektrische en elektronische apparatuur (klein, met stekker of batterij)",
        eural_code="20 01 36",
        weight="1.234,567 kg",
        station_name="Milieustraat Zuid-Oost, Gemeente Voorbeeldstad",
        copy_marker="DUPLICAAT",
        manual=True,
        manual_caption="handmatig ingevoerd",
    )


def printed_lines(data: bytes, columns: int) -> list[DecodedLine]:
    return [line for line in decode_escpos(data, columns=columns).lines if line.text]


# -- the item label, byte for byte ---------------------------------------------


def test_item_label_bytes_are_exactly_the_known_good_sequence() -> None:
    expected = b"".join(
        [
            ESC + b"@",  # initialise
            ESC + b"t\x13",  # code page 19 = CP858 on the TM-T20II
            GS + b"!\x11",  # double width and height
            ESC + b"E\x01",  # bold
            ESC + b"a\x01",  # centred
            b"HERGEBRUIK\n",
            GS + b"!\x00" + ESC + b"E\x00",  # normal size, not bold
            b"Fietsen\n",
            b"EURAL 20 01 40\n",
            GS + b"!\x01" + ESC + b"E\x01",  # double height, bold
            b"Gewicht: 12,34 kg\n",
            GS + b"!\x00" + ESC + b"E\x00",
            b"03-05-2024 14:05\n",
            b"Milieustraat Noord\n",
            GS + b"!\x01" + ESC + b"E\x01",
            b"MS01-000123\n",
            GS + b"!\x00" + ESC + b"E\x00",
            b"\n",  # quiet zone above the QR code
            GS + b"(k\x04\x00" + b"1A2\x00",  # fn 165: model 2
            GS + b"(k\x03\x00" + b"1C\x06",  # fn 167: module 6 dots
            GS + b"(k\x03\x00" + b"1E1",  # fn 169: error correction M
            GS + b"(k\x0e\x00" + b"1P0MS01-000123",  # fn 180: store 11 bytes
            GS + b"(k\x03\x00" + b"1Q0",  # fn 181: print
            b"\n",
            GS + b"h\x30",  # bar height 48 dots
            GS + b"w\x03",  # module width 3 dots
            GS + b"f\x00",  # HRI font A
            GS + b"H\x00",  # no HRI text
            GS + b"kI\x0d{BMS01-000123",  # CODE128 (73), 13 bytes, code set B
            ESC + b"d\x06",  # feed 6 lines
            GS + b"V\x01",  # partial cut
        ]
    )
    assert render_item_label(plain_label()) == expected


def test_item_label_starts_with_init_and_the_cp858_code_page() -> None:
    layout = paper_layout("TM-T20II")
    data = render_item_label(plain_label())
    assert layout.code_page_name == "CP858"
    assert data.startswith(ESC + b"@" + ESC + b"t" + bytes([layout.code_page]))
    assert GS + b"(k\x0e\x001P0MS01-000123" in data
    assert GS + b"kI\x0d{BMS01-000123" in data


def test_item_label_decodes_to_what_a_person_reads() -> None:
    doc = decode_escpos(render_item_label(realistic_label()), columns=48)
    texts = [line.text for line in doc.lines]
    assert doc.initialised and not doc.truncated
    assert doc.problems == [] and doc.pending_text == ""
    assert doc.code_pages == [19]
    assert doc.qr_codes == ["MS01-000123"]
    assert doc.barcodes == [("CODE128", "MS01-000123")]
    assert doc.cuts == 1
    assert " DUPLICAAT " in texts
    assert "REPARATIE" in texts
    assert any(text.startswith("Elektrische en elektronische") for text in texts)
    assert "EURAL 20 01 36" in texts
    assert "Gewicht: 1.234,567 kg" in texts
    assert "handmatig ingevoerd" in texts
    assert "03-05-2024 14:05" in texts
    assert "MS01-000123" in texts
    assert any(text.startswith("Milieustraat Zuid-Oost") for text in texts)


def test_item_label_styles_a_person_sees() -> None:
    lines = {line.text: line for line in decode_escpos(render_item_label(realistic_label())).lines}
    marker = lines[" DUPLICAAT "]
    assert marker.inverted and marker.bold and marker.width_mult == 2
    title = lines["REPARATIE"]
    assert (title.width_mult, title.height_mult, title.bold, title.align) == (2, 2, True, "center")
    assert lines["MS01-000123"].bold
    assert lines["Gewicht: 1.234,567 kg"].height_mult == 2
    elements = decode_escpos(render_item_label(plain_label())).elements
    barcodes = [e for e in elements if isinstance(e, DecodedBarcode)]
    assert [b.hri for b in barcodes] == ["none"]  # the code is printed as text already


def test_euro_sign_and_diaeresis_decode_back() -> None:
    data = render_item_label(plain_label(category="Glas – groen € ë ï"))
    assert "€".encode("cp858") in data  # 0xD5, not a switch to another code page
    assert data.count(ESC + b"t") == 1
    texts = [line.text for line in decode_escpos(data).lines]
    assert "Glas - groen € ë ï" in texts


def test_characters_outside_cp858_get_a_readable_fallback() -> None:
    data = render_item_label(plain_label(category="Łódź ł – 漢 🚲", station_name="Straße"))
    texts = [line.text for line in decode_escpos(data).lines]
    assert "Lódz l - ? ?" in texts
    assert "Straße" in texts


def test_control_characters_in_text_cannot_become_printer_commands() -> None:
    # GS V 0 inside a category name would cut the paper half way through the label.
    data = render_item_label(plain_label(category="Hout\x1dV\x00\x1b@ A"))
    doc = decode_escpos(data)
    assert doc.cuts == 1 and doc.problems == []
    assert "Hout?V??@ A" in [line.text for line in doc.lines]


@pytest.mark.parametrize(("profile", "columns"), PROFILES.items())
def test_long_texts_wrap_or_shorten_within_the_paper(profile: str, columns: int) -> None:
    label = plain_label(
        classification_title="HERGEBRUIK VOOR DE KRINGLOOPWINKEL",
        category="Grof huishoudelijk afval en bouw- en sloopafval dat niet gescheiden is",
        station_name="Milieustraat Zuid-Oost van de Gemeente Voorbeeldstad aan de Ringweg",
        copy_marker="HERDRUK VAN HET ETIKET",
    )
    data = render_item_label(label, profile=profile)
    assert columns_for_profile(profile) == columns
    # Decoded without a width, the printer would wrap any line that is too wide.
    lines = printed_lines(data, columns)
    assert all(not line.wrapped for line in lines)
    for line in decode_escpos(data).lines:
        assert line.columns <= columns, line
    texts = [line.text for line in lines]
    assert any(text.endswith("...") for text in texts)  # shortened, visibly
    assert decode_escpos(data).qr_codes == ["MS01-000123"]


def test_a_realistic_label_stays_under_400_bytes() -> None:
    # 9600 baud moves under 1 kB/s: a label must print in well under a second.
    for profile in PROFILES:
        assert len(render_item_label(realistic_label(), profile=profile)) < 400


def test_weight_is_printed_as_the_app_formatted_it() -> None:
    # The app formats (in the attendant's language), the driver prints.
    for weight in ("12.00 kg", "1,234.50 kg", "0,005 kg"):
        texts = [
            line.text for line in decode_escpos(render_item_label(plain_label(weight=weight))).lines
        ]
        assert f"Gewicht: {weight}" in texts


def test_a_printer_without_qr_or_barcode_gets_text_only() -> None:
    # The POS-5890 profile has no native QR or CODE128 and no cutter; no images
    # are sent instead, the label code is on the label as text.
    data = render_item_label(plain_label(), profile="POS-5890")
    doc = decode_escpos(data, columns=32, profile="POS-5890")
    assert GS + b"(k" not in data and GS + b"k" not in data
    assert doc.qr_codes == [] and doc.barcodes == [] and doc.cuts == 0 and doc.images == 0
    assert "MS01-000123" in [line.text for line in doc.lines]


def test_item_label_refuses_an_unformatted_weight_and_a_bad_label_code() -> None:
    with pytest.raises(TypeError, match="formatted text"):
        plain_label(weight=12.34)
    with pytest.raises(TypeError, match="formatted text"):
        plain_label(weight=Decimal("12.34"))
    with pytest.raises(ValueError, match="empty"):
        plain_label(weight=" ")
    with pytest.raises(ValueError, match="ASCII"):
        plain_label(label_code="MS01-00012€")
    with pytest.raises(ValueError, match="1 to 64"):
        plain_label(label_code="")


def test_unknown_profile_is_a_readable_error() -> None:
    with pytest.raises(ValueError, match="unknown printer profile 'TM-X999'"):
        render_item_label(plain_label(), profile="TM-X999")


# -- totals slip and test page --------------------------------------------------


def test_totals_slip_lists_rows_and_the_grand_total() -> None:
    slip = TotalsSlip(
        day=date(2024, 5, 3),
        station_name="Milieustraat Noord",
        title="Dagtotalen",
        rows=[
            ("Hergebruik", "120,50 kg"),
            ("Reparatie", "8,25 kg"),
            ("Recycling metalen en andere lange namen die niet passen", "1.500,00 kg"),
        ],
        grand_total_caption="Totaal",
        grand_total="1.628,75 kg",
        printed_at_local=datetime(2024, 5, 3, 17, 30),
    )
    data = render_totals_slip(slip, profile="TM-T88V")
    doc = decode_escpos(data, columns=42)
    texts = [line.text for line in doc.lines]
    assert doc.problems == [] and doc.cuts == 1 and doc.code_pages == [19]
    assert "Dagtotalen" in texts and "03-05-2024" in texts
    assert "Hergebruik" + " " * 23 + "120,50 kg" in texts  # 42 columns
    total = next(line for line in doc.lines if line.text.startswith("Totaal"))
    assert total.text.endswith("1.628,75 kg") and total.bold
    assert all(line.columns <= 42 and not line.wrapped for line in doc.lines)
    assert any(
        text.startswith("Recycling metalen") and text.endswith("1.500,00 kg") for text in texts
    )


@pytest.mark.parametrize(("profile", "columns"), PROFILES.items())
def test_totals_slip_counts_stand_in_their_own_column(profile: str, columns: int) -> None:
    slip = TotalsSlip(
        day=date(2024, 5, 3),
        station_name="Milieustraat Noord",
        title="Dagtotalen",
        rows=[
            ("Hergebruik", 12, "120,50 kg"),
            ("Recycling metalen en andere lange namen die niet passen", 1234, "12.345.678,901 kg"),
        ],
        grand_total_caption="Totaal",
        grand_total="12.345.799,401 kg",
        grand_count=1246,
        count_caption="Aantal",
        weight_caption="Gewicht",
    )
    doc = decode_escpos(render_totals_slip(slip, profile=profile), columns=columns)
    texts = [line.text for line in doc.lines]
    assert doc.problems == []
    assert all(line.columns <= columns and not line.wrapped for line in doc.lines)
    heading = next(text for text in texts if text.endswith("Aantal           Gewicht"))
    assert heading.strip() == "Aantal           Gewicht"
    assert any(t.startswith("Herg") and t.endswith("  12         120,50 kg") for t in texts)
    assert any(t.startswith("Recy") and t.endswith(" 1234 12.345.678,901 kg") for t in texts)
    total = next(line for line in doc.lines if line.text.startswith("Totaal"))
    assert total.bold and total.text.endswith(" 1246 12.345.799,401 kg")


def test_totals_slip_counts_are_whole_numbers() -> None:
    for count in (-1, True, "3"):
        with pytest.raises(ValueError, match="whole number"):
            TotalsSlip(
                day=date(2024, 5, 3),
                station_name="Noord",
                title="Dagtotalen",
                rows=[("Hergebruik", count, "1,00 kg")],  # type: ignore[list-item]
                grand_total_caption="Totaal",
                grand_total="1,00 kg",
            )


@pytest.mark.parametrize(("profile", "columns"), PROFILES.items())
def test_test_page_shows_every_size_the_characters_and_the_codes(
    profile: str, columns: int
) -> None:
    layout = paper_layout(profile)
    doc = decode_escpos(render_test_page(profile, "Noord"), columns=columns, profile=profile)
    lines = [line for line in doc.lines if line.text]
    texts = [line.text for line in lines]
    assert doc.problems == [] and not doc.truncated
    assert {(line.width_mult, line.height_mult) for line in lines} == {
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    }
    assert any(line.bold for line in lines)
    assert any(line.underline for line in lines)
    assert any(line.inverted for line in lines)
    assert {line.align for line in lines} == {"left", "center", "right"}
    assert f"Characters: {TEST_PAGE_CHARACTERS}" in texts
    assert "Fallback: l - o" in texts
    assert f"Code page CP858 (ESC t {layout.code_page})" in texts
    assert f"Columns {columns}" in texts
    assert "1234567890"[: min(10, columns)] in texts[texts.index(f"Columns {columns}") + 1]
    assert all(line.columns <= columns and not line.wrapped for line in lines)
    assert doc.qr_codes == [TEST_PAGE_QR]
    assert doc.barcodes == [("CODE128", TEST_PAGE_BARCODE)]
    assert doc.cuts == (1 if layout.cutter else 0)


# -- layout helpers ------------------------------------------------------------


def test_profile_widths() -> None:
    assert {name: columns_for_profile(name) for name in PROFILES} == PROFILES
    assert paper_layout("TM-T20II").code_page == 19


def test_printable_fallbacks() -> None:
    assert printable("ł – ‘x’ …") == "l - 'x' ..."
    assert printable("e\u0301") == "é"  # combined, not cut apart
    assert printable("zero\u200bwidth") == "zerowidth"
    assert printable("tab\tnew\nline") == "tab new line"
    assert printable("漢") == "?"
    assert encode_text("€") == b"\xd5"
    assert encode_text("€", "cp437") == b"EUR"


def test_shorten_and_two_columns() -> None:
    assert shorten("Elektrische apparaten", 12) == "Elektrisc..."
    assert shorten("Elektrische apparaten", 24, width_mult=2) == "Elektrisc..."
    assert shorten("kort", 12) == "kort"
    assert two_columns("Hergebruik", "12,00 kg", 24) == "Hergebruik      12,00 kg"
    assert len(two_columns("Een hele lange omschrijving", "1234,500 kg", 24)) == 24


@given(
    text=st.text(max_size=120),
    columns=st.sampled_from([32, 42, 48]),
    width_mult=st.sampled_from([1, 2]),
    max_lines=st.one_of(st.none(), st.integers(min_value=1, max_value=3)),
)
def test_wrapped_text_never_overflows_and_always_encodes(
    text: str, columns: int, width_mult: int, max_lines: int | None
) -> None:
    clean = printable(text)
    clean.encode("cp858")  # never raises
    lines = wrap(clean, columns, width_mult, max_lines=max_lines)
    assert all(len(line) * width_mult <= columns for line in lines)
    if max_lines is not None:
        assert len(lines) <= max_lines
    assert len(shorten(clean, columns, width_mult)) * width_mult <= columns
