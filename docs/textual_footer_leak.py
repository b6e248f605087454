"""Two ways Textual 8.2.8 keeps removed widgets' memory alive; see textual-footer-leak.md.

Run it with the counter's environment: ``.venv/bin/python docs/textual_footer_leak.py``.
A bare Textual app with a Footer; a modal screen is opened and closed 20 times.
"""

import asyncio
import gc

import textual
from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Label
from textual.widgets._footer import FooterKey

ROUNDS = 20


class Modal(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        yield Label("a modal screen")


class FooterApp(App[None]):
    BINDINGS = [("a", "bell", "Bell"), ("b", "toggle_dark", "Dark")]

    def compose(self) -> ComposeResult:
        yield Footer()


def live_footer_keys() -> int:
    gc.collect()
    return sum(isinstance(o, FooterKey) for o in gc.get_objects())


def orphaned_styles_caches() -> int:
    """StylesCache objects (each with the lines its widget drew) whose widget is gone."""
    gc.collect()
    objects = gc.get_objects()
    owned = {id(o._styles_cache) for o in objects if isinstance(o, Widget)}
    return sum(isinstance(o, StylesCache) and id(o) not in owned for o in objects)


async def main() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        print(f"Textual {textual.__version__}")
        print(f"at start:                        {live_footer_keys():4} FooterKey alive")
        for _ in range(ROUNDS):
            app.push_screen(Modal())
            await pilot.pause()
            app.pop_screen()
            await pilot.pause()
        print(f"after {ROUNDS} modal screens:         {live_footer_keys():4} FooterKey alive")
        footer = app.screen.query_one(Footer)
        watchers = getattr(footer, "__watchers")["compact"]
        print(f"watchers on Footer.compact:      {len(watchers):4}")
        # Only a change of the watched reactive drops the watchers of removed widgets.
        footer.compact = not footer.compact
        await pilot.pause()
        print(f"after toggling Footer.compact:   {live_footer_keys():4} FooterKey alive")

        print(f"StylesCache of removed widgets:  {orphaned_styles_caches():4}")
        print(f"StylesCache.get_inner_outer:     {StylesCache.get_inner_outer.cache_info()}")
        StylesCache.get_inner_outer.cache_clear()
        print(f"after cache_clear():             {orphaned_styles_caches():4}")


if __name__ == "__main__":
    asyncio.run(main())
