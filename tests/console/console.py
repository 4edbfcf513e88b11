"""One test's console: the whole platform (tests/e2e/pipeline.py), a Chromium page on its
``/ui``, and the checks every console test wants at the end: no script error, no
Content-Security-Policy violation and no dialog happened unless the test expected it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import ConsoleMessage, Dialog, Error, Page, expect

from tests.console.browser import screenshot_path
from tests.e2e.pipeline import Pipeline

# Long enough for a rule to go live and a notification to be delivered on a loaded box;
# every wait is bounded by it, none is a sleep.
WAIT_MS = 30_000


@dataclass
class Console:
    pipeline: Pipeline
    page: Page
    problems: list[str] = field(default_factory=list)  # script errors, CSP violations
    dialogs: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    async def _dialog(self, dialog: Dialog) -> None:
        # confirm() before a destructive action is the console's own; alert() and
        # prompt() are not used, so one of those would be injected script.
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":
            await dialog.accept()
        else:
            await dialog.dismiss()

    @property
    def url(self) -> str:
        return f"{self.pipeline.url('rule-service')}/ui"

    @property
    def admin_token(self) -> str:
        return self.pipeline.settings.require_admin_token()

    async def open(self, path: str = "") -> None:
        await self.page.goto(f"{self.url}{path}")

    async def sign_in(self, token: str) -> None:
        await self.open()
        await self.page.get_by_label("API token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.get_by_test_id("who")).to_be_visible(timeout=WAIT_MS)

    async def sign_out(self) -> None:
        await self.page.get_by_role("button", name="Sign out").click()
        await expect(self.page.get_by_label("API token")).to_be_visible()

    async def view(self, title: str) -> None:
        """Open a view from the navigation, as an operator would."""
        await (
            self.page.get_by_role("navigation", name="Views")
            .get_by_role("link", name=title)
            .click()
        )

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(screenshot_path(name)), full_page=True)

    def unexpected_dialogs(self) -> list[str]:
        return [d for d in self.dialogs if not d.startswith("confirm:")]

    def check_clean(self) -> None:
        # Failed API calls the test provoked (a 409, a 404) are logged by Chromium as
        # "Failed to load resource"; those are answers, not script problems.
        real = [p for p in self.problems if not re.search(r"Failed to load resource", p)]
        assert not real, real
        assert not self.unexpected_dialogs(), self.dialogs


async def text_of(page: Page, selector: str) -> Any:
    try:
        return await page.locator(selector).inner_text(timeout=WAIT_MS)
    except Error as exc:  # pragma: no cover - a failing test's message
        raise AssertionError(f"{selector}: {exc}") from None
