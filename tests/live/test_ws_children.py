"""mod_gramex_ws's counters are the server's, not one child's: each child
counts its tunnels in its own slot of shared memory and the status page sums
the slots. The parent folds the slot of a child that exits into the totals,
so a killed child's tunnels count as closed (and dropped), not open forever.

Each test runs two children (ws_util.TWO_CHILDREN) and opens WebSockets
until both carry some; /proc tells which child holds which connection."""
import os
import signal

import pytest
import requests

from gxhttpd import BUILD, STATUS_PAGE, wait_until
from ws_util import (TWO_CHILDREN, child_holding, children, masked_frame, proxy_yaml,
                     raw_upgrade, read_exactly, read_to_close)

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
SCOPE = 'asynchronous tunnels (GramexWebSocketAsync On) of all children since httpd started'
WAIT = 20           # a bound on waits, not a measurement
MAX_TRIES = 80      # connections to open before giving up on landing on both children


class Tunnel:
    """A raw WebSocket through httpd, the child that holds it, and the bytes
    it moved each way."""

    def __init__(self, h):
        self.sock, head, self.rest = raw_upgrade(h.port, '/chat', timeout=WAIT)
        assert head.split(b'\r\n')[0] == b'HTTP/1.1 101 Switching Protocols', head
        self.child = child_holding(h.pid(), h.port, self.sock)
        self.to_backend = self.to_client = 0

    def echo(self, text):
        """Send text, read the backend's echo: unmasked, 2 + len bytes (< 126)."""
        frame = masked_frame(text.encode(), 0x1)
        self.sock.sendall(frame)
        got = read_exactly(self.sock, 2 + len(text), self.rest)
        self.rest = b''
        assert got == b'\x81' + bytes([len(text)]) + text.encode()
        self.to_backend += len(frame)
        self.to_client += len(got)


def on_two_children(h, each=2):
    """Tunnels until two children hold at least `each` apiece: {pid: [Tunnel]}."""
    by_child = {}
    for _ in range(MAX_TRIES):
        t = Tunnel(h)
        assert t.child, 'no child of httpd holds the connection'
        by_child.setdefault(t.child, []).append(t)
        if sum(len(ts) >= each for ts in by_child.values()) >= 2:
            return by_child
    raise AssertionError(f'{MAX_TRIES} connections landed on {list(map(len, by_child.values()))}')


def websockets_of(h):
    return requests.get(f'{h.url}/gramex-status?json', timeout=WAIT).json()['websockets']


def counters(tunnels, **n):
    out = {'module': True, 'scope': SCOPE, 'open': 0, 'opened': 0, 'closed': 0, 'dropped': 0,
           'bytes_to_backend': sum(t.to_backend for t in tunnels),
           'bytes_to_client': sum(t.to_client for t in tunnels), 'refused': 0}
    out.update(n)
    return out


@pytest.fixture
def serve(httpd, app_dir, backends):
    """serve(conf) -> a started httpd with two children and /chat; no child crashed, after."""
    made = []

    def make(conf=''):
        app = app_dir({'gramex.yaml': proxy_yaml('chat', backends().port)})
        h = httpd(f'{TWO_CHILDREN}\nGramexConfig "{app}/gramex.yaml"\n'
                  f'GramexWebSocketAsync On\n{conf}\n{STATUS_PAGE}').start()
        made.append(h)
        assert wait_until(lambda: len(children(h.pid())) == 2, WAIT), children(h.pid())
        return h
    yield make
    for h in made:
        assert 'exit signal' not in h.error_log(), h.error_log()


@pytest.fixture
def two_children(serve):
    return serve()


def test_status_page_sums_every_childs_tunnels(two_children):
    h = two_children
    by_child = on_two_children(h)
    tunnels = [t for ts in by_child.values() for t in ts]
    for i, t in enumerate(tunnels):
        t.echo('x' * (i + 1))           # a different size each: no two sums match by chance
    n = len(tunnels)
    # whichever child answers, the page shows every child's tunnels
    for _ in range(6):
        assert websockets_of(h) == counters(tunnels, open=n, opened=n)
    html = requests.get(f'{h.url}/gramex-status', timeout=WAIT).text
    assert (f'<dt>WebSockets</dt><dd>{n} open; {n} opened, 0 closed (0 dropped by a child\'s '
            f'exit), 0 refused; {sum(t.to_backend for t in tunnels)} bytes to backends, '
            f'{sum(t.to_client for t in tunnels)} bytes to clients <span class="muted">'
            f'({SCOPE})</span></dd>') in html

    first = tunnels[0]
    first.sock.sendall(masked_frame(b'\x03\xe8', 0x8))      # close, 1000
    first.to_backend += 8
    closing = read_to_close(first.sock)
    first.sock.close()
    assert closing == b'\x88\x02\x03\xe8'
    first.to_client += len(closing)
    want = counters(tunnels, open=n - 1, opened=n, closed=1)
    assert wait_until(lambda: websockets_of(h) == want, WAIT), (websockets_of(h), want)
    for t in tunnels[1:]:
        t.sock.close()


def test_killed_child_closes_its_clients_and_leaves_the_totals(two_children):
    h = two_children
    by_child = on_two_children(h)
    victim, survivor = sorted(by_child, key=lambda pid: -len(by_child[pid]))[:2]
    tunnels = [t for ts in by_child.values() for t in ts]
    for t in tunnels:
        t.echo('before')
    killed, kept = by_child[victim], by_child[survivor]
    parent = h.pid()

    os.kill(victim, signal.SIGKILL)
    for t in killed:            # closed by the kernel: EOF or reset, within the bound
        assert read_to_close(t.sock) == b''
        t.sock.close()
    for t in kept:
        t.echo('after')
    assert wait_until(lambda: victim not in children(parent) and len(children(parent)) == 2,
                      WAIT), children(parent)
    assert h.alive() and h.pid() == parent

    fresh = Tunnel(h)                # served by either child, the new one included
    fresh.echo('fresh')
    tunnels.append(fresh)
    n, dead = len(tunnels), len(killed)
    want = counters(tunnels, open=n - dead, opened=n, closed=dead, dropped=dead)
    assert wait_until(lambda: websockets_of(h) == want, WAIT), (websockets_of(h), want)
    for t in kept + [fresh]:
        t.sock.close()
    want = counters(tunnels, opened=n, closed=n, dropped=dead)
    assert wait_until(lambda: websockets_of(h) == want, WAIT), (websockets_of(h), want)


def test_graceful_restart_keeps_the_counts_and_the_draining_childs_tunnels(serve):
    """The counters live as long as the parent: a graceful restart neither
    forgets the old children's open tunnels (they drain for
    GramexWebSocketGrace) nor starts the totals again."""
    h = serve('GramexWebSocketGrace 60')
    old = Tunnel(h)
    old.echo('before')
    rc, out = h.graceful()
    assert rc == 0, out
    assert websockets_of(h) == counters([old], open=1, opened=1)   # new children answer
    old.echo('after')
    new = Tunnel(h)
    new.echo('new generation')
    assert new.child != old.child
    assert websockets_of(h) == counters([old, new], open=2, opened=2)

    old.sock.sendall(masked_frame(b'\x03\xe8', 0x8))
    old.to_backend += 8
    closing = read_to_close(old.sock)
    old.sock.close()
    assert closing == b'\x88\x02\x03\xe8'
    old.to_client += len(closing)
    # its last tunnel closed, the old child exits; its slot joins the totals
    assert wait_until(lambda: old.child not in children(h.pid()), WAIT), children(h.pid())
    want = counters([old, new], open=1, opened=2, closed=1)
    assert wait_until(lambda: websockets_of(h) == want, WAIT), (websockets_of(h), want)
    new.sock.close()
