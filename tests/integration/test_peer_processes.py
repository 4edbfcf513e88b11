"""A peer does not outlive what started it: its starter SIGKILLed (an xdist worker killed
on timeout), the peer gets SIGTERM, though it runs in a session of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.processes import alive

pytestmark = pytest.mark.integration

# The starter: a process that starts a long sleep the way servers._start starts a peer.
STARTER = """
import subprocess, sys, time
from alerting.peers import servers
child = subprocess.Popen(
    ["sleep", "120"], start_new_session=True, preexec_fn=servers._peer_preexec()
)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_a_peer_gets_sigterm_when_its_starter_is_killed() -> None:
    starter = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None
        peer = int(starter.stdout.readline())
        assert alive(peer)
        starter.kill()
        starter.wait(10)
        deadline = time.monotonic() + 10
        while alive(peer) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(peer), "the peer outlived its SIGKILLed starter"
    finally:
        starter.kill()
        if "peer" in locals() and alive(peer):
            os.kill(peer, signal.SIGKILL)  # not leaked by a failing run
