"""The ESC/POS decoder: printer rules for the commands we send, robust on the rest."""

from __future__ import annotations

from datetime import datetime

from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.printer.decode import DecodedBarcode, DecodedCut, DecodedQRCode, decode_escpos
from drivers.printer.documents import ItemLabel, render_item_label
from tests.fuzzing import examples, fuzz

ESC = b"\x1b"
GS = b"\x1d"


def label_bytes() -> bytes:
    return render_item_label(
        ItemLabel(
            label_code="MS01-000123",
            classification_title="HERGEBRUIK",
            category="Fietsen € ë",
            eural_code="20 01 40",
            weight="12,34 kg",
            recorded_at_local=datetime(2024, 5, 3, 14, 5),
            station_name="Milieustraat Noord",
            copy_marker="HERDRUK",
        )
    )


def test_text_is_printed_by_line_feeds_in_the_selected_styles() -> None:
    data = (
        ESC
        + b"@"
        + ESC
        + b"a\x02"
        + b"right\n"
        + ESC
        + b"a\x00"
        + ESC
        + b"!\x38"
        + b"big"
        + ESC
        + b"!\x00"
        + b" small\n"
        + GS
        + b"B\x01"
        + b" inv "
        + GS
        + b"B\x00"
        + b"\n"
        + ESC
        + b"-\x01"
        + b"under\n"
        + ESC
        + b"-\x00"
    )
    doc = decode_escpos(data)
    right, mixed, inverted, under = doc.lines
    assert (right.text, right.align) == ("right", "right")
    assert mixed.text == "big small"
    assert [(s.text, s.width_mult, s.height_mult, s.bold) for s in mixed.spans] == [
        ("big", 2, 2, True),
        (" small", 1, 1, False),
    ]
    assert (mixed.width_mult, mixed.height_mult, mixed.bold) == (2, 2, False)
    assert mixed.columns == 12
    assert inverted.inverted and under.underline
    assert doc.pending_text == ""


def test_gs_exclamation_sets_width_and_height_separately() -> None:
    doc = decode_escpos(GS + b"!\x10w\n" + GS + b"!\x01h\n" + GS + b"!\x22x\n")
    assert [(line.width_mult, line.height_mult) for line in doc.lines] == [(2, 1), (1, 2), (3, 3)]


def test_alignment_only_counts_at_the_beginning_of_a_line() -> None:
    doc = decode_escpos(b"ab" + ESC + b"a\x01" + b"cd\nef\n")
    assert [(line.text, line.align) for line in doc.lines] == [("abcd", "left"), ("ef", "left")]
    assert doc.problems == ["ESC a ignored: not at the beginning of a line"]


def test_code_pages_decide_what_a_byte_shows() -> None:
    data = ESC + b"t\x13\xd5\x89\n" + ESC + b"t\x02\xd5\n" + ESC + b"t\x10\x80\n"
    doc = decode_escpos(data)
    assert doc.code_pages == [19, 2, 16]
    assert [line.text for line in doc.lines] == ["€ë", "ı", "€"]  # CP858, CP850, CP1252


def test_init_clears_the_buffer_and_resets_modes_and_code_page() -> None:
    doc = decode_escpos(ESC + b"t\x13" + ESC + b"E\x01lost" + ESC + b"@" + b"\xd5\n")
    assert doc.initialised
    assert [(line.text, line.bold) for line in doc.lines] == [("╒", False)]  # CP437 again


def test_esc_d_feeds_like_that_many_line_feeds() -> None:
    doc = decode_escpos(b"text" + ESC + b"d\x03" + ESC + b"d\x02")
    assert [line.text for line in doc.lines] == ["text", "", "", "", ""]


def test_text_without_a_line_feed_is_not_printed() -> None:
    doc = decode_escpos(b"first\nsecond")
    assert [line.text for line in doc.lines] == ["first"]
    assert doc.pending_text == "second"


def test_cuts_full_partial_and_with_feed() -> None:
    data = GS + b"V\x00" + GS + b"V\x01" + GS + b"VB\x00" + GS + b"V1" + ESC + b"i"
    doc = decode_escpos(data)
    assert doc.cuts == 5
    assert [e.partial for e in doc.elements if isinstance(e, DecodedCut)] == [
        False,
        True,
        True,
        True,
        True,
    ]


def test_a_cut_in_the_middle_of_a_line_is_ignored_like_the_printer_does() -> None:
    doc = decode_escpos(b"half" + GS + b"V\x01" + b"\n")
    assert doc.cuts == 0
    assert doc.problems == ["cut ignored: not at the beginning of a line"]


def test_qr_code_as_python_escpos_sends_it() -> None:
    printer = Dummy()
    printer.qr("1234", native=True)
    doc = decode_escpos(printer.output)
    assert doc.qr_codes == ["1234"]
    (code,) = doc.elements
    assert code == DecodedQRCode(payload="1234", model=2, module_dots=3, error_correction="L")


def test_qr_payload_is_decoded_with_the_current_code_page() -> None:
    data = ESC + b"t\x13" + GS + b"(k\x05\x001P0\xd5A" + GS + b"(k\x03\x001Q0"
    assert decode_escpos(data).qr_codes == ["€A"]


def test_code128_code_sets_and_escaped_brace() -> None:
    def code128(payload: bytes) -> bytes:
        return GS + b"kI" + bytes([len(payload)]) + payload

    data = (
        code128(b"{BAB{{C")
        + code128(b"{C\x0c\x22\x38")
        + code128(b"{BNo.{C\x0c\x22\x38")
        + code128(b"no code set")
    )
    doc = decode_escpos(data)
    assert doc.barcodes == [("CODE128", "AB{C"), ("CODE128", "123456"), ("CODE128", "No.123456")]
    assert doc.problems == ["CODE128 data without a valid code set: b'no code set'"]


def test_function_a_barcode_and_hri_position() -> None:
    data = GS + b"H\x02" + GS + b"k\x02" + b"871234567890\x00"
    (barcode,) = decode_escpos(data).elements
    assert barcode == DecodedBarcode(symbology="EAN13", data="871234567890", hri="below")


def test_lines_wider_than_the_paper_wrap_like_the_printer() -> None:
    doc = decode_escpos(b"x" * 10 + GS + b"!\x10" + b"yy\n", columns=8)
    assert [(line.text, line.wrapped) for line in doc.lines] == [
        ("xxxxxxxx", True),
        ("xxyy", False),
    ]
    assert doc.lines[1].columns == 6


def test_images_and_unknown_commands_are_skipped_safely() -> None:
    printer = Dummy()
    printer.image(Image.new("1", (16, 4)), impl="bitImageRaster")
    data = printer.output + ESC + b"Z" + b"after\n"
    doc = decode_escpos(data)
    assert doc.images == 1
    assert [line.text for line in doc.lines] == ["after"]
    assert doc.problems == ["unknown command ESC 0x5a skipped"]


def test_status_and_drawer_commands_print_nothing() -> None:
    data = b"\x10\x04\x01" + ESC + b"p\x00\x19\xfa" + GS + b"L\x00\x00" + b"ok\n"
    doc = decode_escpos(data)
    assert [line.text for line in doc.lines] == ["ok"] and doc.problems == []


def test_every_truncation_of_a_label_is_reported_not_raised() -> None:
    data = label_bytes()
    complete = decode_escpos(data)
    assert not complete.truncated
    for end in range(len(data)):
        doc = decode_escpos(data[:end])
        # Ending inside a command is truncation; ending between commands is not,
        # but then something (a cut at the least) is missing.
        assert doc.truncated or doc.cuts == 0
        assert len(doc.lines) <= len(complete.lines)
    assert decode_escpos(data[:-1]).truncated  # inside GS V
    assert decode_escpos(data[:3]).truncated  # inside ESC t


@fuzz
@settings(max_examples=examples(300))
@given(st.binary(max_size=300))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    doc = decode_escpos(data, columns=32)
    assert all(line.columns <= 32 for line in doc.lines)


@given(
    st.lists(
        st.sampled_from(
            [
                ESC,
                GS,
                b"\x1c",
                b"\x10",
                b"(",
                b"k",
                b"\x00",
                b"\xff",
                b"\n",
                b"a",
                b"V",
                b"1",
                b"P",
                b"Q",
                b"I",
            ]
        ),
        max_size=60,
    )
)
def test_command_like_noise_decodes_without_raising(parts: list[bytes]) -> None:
    decode_escpos(b"".join(parts))
