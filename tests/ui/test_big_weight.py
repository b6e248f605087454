"""The big weight on a tall terminal: drawn in block digits, as large as the panel allows."""

from __future__ import annotations

from pilot_helpers import put_on_scale, ready, wait_for

from counter_app.services.scale import ScaleState
from counter_app.ui.bigdigits import FONT, block_lines, largest_scale, pixel_rows, width_at


def read_back(lines: list[str], scale: int) -> str:
    """Decode block lines to text again: the glyphs must be unambiguous."""
    pixels: list[str] = []
    for line in lines:
        top = "".join("#" if c in "█▀" else "." for c in line)
        bottom = "".join("#" if c in "█▄" else "." for c in line)
        pixels += [top, bottom]
    pixels = pixels[: 5 * scale]
    rows = ["".join(row[x] for x in range(0, len(row), scale)) for row in pixels[::scale]]
    text, x = "", 0
    glyphs = {glyph: char for char, glyph in FONT.items() if char != " "}
    while x < len(rows[0]):
        for width in (3, 1):
            glyph = tuple(row[x : x + width] for row in rows)
            if glyph in glyphs and (width == 3 or all(len(g) == 1 for g in glyph)):
                text += glyphs[glyph]
                x += width + 1
                break
        else:
            raise AssertionError(f"no glyph at column {x}")
    return text


def test_every_glyph_reads_back_at_every_scale() -> None:
    for scale in (1, 2, 3, 5):
        for text in ("12,34", "0.00", "-----", "^^^^^", "987,65", "-1,20"):
            assert read_back(block_lines(text, scale), scale) == text


def test_the_scale_is_the_largest_that_fits() -> None:
    assert width_at("12,34", 1) == 17  # 4 digits of 3, a comma of 1, 4 gaps
    assert largest_scale("12,34", 17, 3) == 1
    assert largest_scale("12,34", 34, 5) == 2
    assert largest_scale("12,34", 33, 5) == 1  # one column short
    assert largest_scale("12,34", 200, 4) == 1  # not tall enough for 2
    assert len(pixel_rows("12,34", 3)) == 15


async def test_a_tall_terminal_shows_the_weight_big(make_app) -> None:  # type: ignore[no-untyped-def]
    from counter_app.ui.bigdigits import BigWeight

    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "23.45", state=ScaleState.STABLE)
        big = app.counter_screen.query_one("#weight-big", BigWeight)
        await wait_for(pilot, lambda: big.value == "23,45" and big.region.height >= 10)
        assert big.display and big.region.height >= 10
        assert big.value == "23,45"
        width, height = big.size
        scale = largest_scale("23,45", width, height)
        assert scale >= 3  # at least nine times the area of the small digits
        lines = [big.render_line(y).text for y in range(height)]
        drawn = [line.strip() for line in lines if line.strip()]
        assert read_back(drawn, scale) == "23,45"
