"""Finding the peers' binaries: present, installed by apt-get as root, or explained."""

from __future__ import annotations

import pytest

from alerting.dev import infra
from alerting.peers import packages


def test_without_root_a_missing_peer_names_the_apt_get_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packages.shutil, "which", lambda name: None)
    monkeypatch.setattr(infra, "can_apt_install", lambda: False)
    with pytest.raises(infra.InfraError) as raised:
        packages.ensure(infra.Progress())
    message = str(raised.value)
    assert "prometheus, prometheus-alertmanager, amtool not found" in message
    assert "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager" in (
        message
    )


def test_as_root_the_packages_are_installed_without_recommends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    present: set[str] = set()

    def apt_install(names: tuple[str, ...], progress: infra.Progress, *extra: str) -> None:
        installed.append((tuple(names), extra))
        present.update(packages.BINARIES)

    monkeypatch.setattr(packages.shutil, "which", lambda name: name if name in present else None)
    monkeypatch.setattr(infra, "can_apt_install", lambda: True)
    monkeypatch.setattr(infra, "apt_install", apt_install)
    packages.ensure(infra.Progress())
    assert installed == [(packages.PACKAGES, ("--no-install-recommends",))]
    packages.ensure(infra.Progress())  # present now: nothing installed again
    assert len(installed) == 1
