"""A weight in big block digits that grows with the terminal.

Textual's ``Digits`` is three rows high whatever the screen. At a counter with a large
monitor the weight should be readable from across the weighbridge, so above a certain
size the display draws a 3x5 pixel font with half blocks (two pixels a row), scaled
to the room it has.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# 3 wide, 5 high; "#" is a lit pixel. Comma and point are one pixel wide.
FONT: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "-": ("...", "...", "###", "...", "..."),
    "^": (".#.", "#.#", "...", "...", "..."),
    " ": ("...", "...", "...", "...", "..."),
    ",": (".", ".", ".", "#", "#"),
    ".": (".", ".", ".", ".", "#"),
}
FONT_HEIGHT = 5


def pixel_rows(text: str, scale: int) -> list[str]:
    """The text as rows of pixels ("#" lit), each font pixel ``scale`` x ``scale``."""
    rows = [""] * FONT_HEIGHT
    for i, char in enumerate(text):
        glyph = FONT.get(char, FONT[" "])
        for r in range(FONT_HEIGHT):
            gap = "." if i else ""
            rows[r] += gap + glyph[r]
    scaled: list[str] = []
    for row in rows:
        wide = "".join(pixel * scale for pixel in row)
        scaled.extend([wide] * scale)
    return scaled


def block_lines(text: str, scale: int) -> list[str]:
    """Pixel rows folded two at a time into half-block characters."""
    pixels = pixel_rows(text, scale)
    if len(pixels) % 2:
        pixels.append("." * len(pixels[0]))
    lines = []
    for top, bottom in zip(pixels[0::2], pixels[1::2], strict=True):
        line = []
        for upper, lower in zip(top, bottom, strict=True):
            line.append(
                {("#", "#"): "█", ("#", "."): "▀", (".", "#"): "▄"}.get((upper, lower), " ")
            )
        lines.append("".join(line))
    return lines


def width_at(text: str, scale: int) -> int:
    return sum(len(FONT.get(c, FONT[" "])[0]) for c in text) * scale + (len(text) - 1) * scale


def largest_scale(text: str, width: int, height: int) -> int:
    """The largest scale at which ``text`` fits ``width`` x ``height`` cells (0: none)."""
    scale = 0
    while True:
        nxt = scale + 1
        rows = (FONT_HEIGHT * nxt + 1) // 2
        if width_at(text, nxt) > width or rows > height:
            return scale
        scale = nxt


class BigWeight(Widget):
    """Draws ``value`` as large as its region allows."""

    DEFAULT_CSS = """
    BigWeight {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, value: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._value = value

    def update(self, value: str) -> None:
        if value != self._value:
            self._value = value
            self.refresh()

    @property
    def value(self) -> str:
        return self._value

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        scale = max(1, largest_scale(self._value, width, height))
        lines = block_lines(self._value, scale)
        style = self.rich_style
        # Bottom-aligned and right-aligned, like the digits of an indicator.
        top = max(0, height - len(lines))
        if y < top:
            return Strip([Segment(" " * width, style)])
        text = lines[y - top][:width].rjust(width)
        return Strip([Segment(text, style + Style())])
