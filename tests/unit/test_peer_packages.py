"""Finding the peers' binaries: present, installed by apt-get as root, or explained."""

from __future__ import annotations

from pathlib import Path

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


def test_as_root_the_packages_are_installed_without_recommends_and_no_service_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    policies: list[str] = []
    present: set[str] = set()
    policy = tmp_path / "policy-rc.d"
    stops: list[int] = []

    def apt_install(names: tuple[str, ...], progress: infra.Progress, *extra: str) -> None:
        installed.append((tuple(names), extra))
        policies.append(policy.read_text())
        present.update(packages.BINARIES)

    monkeypatch.setattr(packages.shutil, "which", lambda name: name if name in present else None)
    monkeypatch.setattr(infra, "can_apt_install", lambda: True)
    monkeypatch.setattr(infra, "apt_install", apt_install)
    monkeypatch.setattr(packages, "POLICY_RC_D", policy)
    monkeypatch.setattr(packages, "packaged_daemons", lambda: [len(stops)])
    monkeypatch.setattr(packages.os, "kill", lambda pid, sig: stops.append(pid))
    packages.ensure(infra.Progress())
    assert installed == [(packages.PACKAGES, ("--no-install-recommends",))]
    assert policies == [packages.NO_SERVICE_STARTS] and "exit 101" in policies[0]
    assert not policy.exists()  # ours: removed afterwards
    packages.ensure(infra.Progress())  # present now: nothing installed again
    assert len(installed) == 1
    assert stops == [0, 1]  # a packaged daemon is stopped at every call, installed or not


def test_an_existing_policy_rc_d_is_left_as_it_is(tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")  # Docker's
    with packages.no_service_starts(policy):
        assert policy.read_text() == "#!/bin/sh\nexit 101\n"
    assert policy.read_text() == "#!/bin/sh\nexit 101\n"


@pytest.mark.parametrize(
    ("argv", "packaged"),
    [
        (["/usr/bin/prometheus"], True),  # Debian's init script: /etc/default's ARGS
        (["/usr/bin/prometheus-alertmanager", "--cluster.listen-address="], True),
        (
            ["/usr/bin/prometheus", "--config.file=/t/p.yml", "--web.listen-address=127.0.0.1:41"],
            False,
        ),
        (["/usr/bin/prometheus-alertmanager", "--web.listen-address=127.0.0.1:42"], False),
        (["/usr/bin/promtool", "check", "config"], False),
        ([], False),
    ],
)
def test_a_packaged_daemon_is_told_from_the_harness_peers(argv: list[str], packaged: bool) -> None:
    assert packages.is_packaged_daemon(argv) is packaged


def test_packaged_daemons_are_found_by_their_command_line(tmp_path: Path) -> None:
    for pid, argv in {"7": ["/usr/bin/prometheus"], "8": ["bash"], "self": ["x"]}.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (tmp_path / "9").mkdir()  # exited meanwhile: no cmdline left
    assert packages.packaged_daemons(tmp_path) == [7]
