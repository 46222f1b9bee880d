"""The status page shows mod_gramex_ws's counters (through its optional
function gx_ws_counters_get): tunnels open, opened, closed (and of those,
dropped by a child's exit), refused and the bytes each way, as the client and
backend exchanged them; or that the module is not loaded. Totals over
several children: test_ws_children.py."""
import time

import pytest
import requests

from gxhttpd import BUILD
from ws_util import ONE_CHILD, masked_frame, raw_upgrade, read_to_close

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
STATUS = ('<Location /gramex-status>\n  SetHandler gramex-status\n  Require all granted\n'
          '</Location>')
SCOPE = 'asynchronous tunnels (GramexWebSocketAsync On) of all children since httpd started'
WAIT = 20       # a bound on waits, not a measurement


def websockets_of(h):
    return requests.get(f'{h.url}/gramex-status?json').json()['websockets']


def counters(**n):
    out = {'module': True, 'scope': SCOPE, 'open': 0, 'opened': 0, 'closed': 0, 'dropped': 0,
           'bytes_to_backend': 0, 'bytes_to_client': 0, 'refused': 0}
    out.update(n)
    return out


def test_status_counts_a_websocket(httpd, app_dir, backends):
    backend = backends()
    app = app_dir({'gramex.yaml': f"""
url:
  chat:
    pattern: /chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{backend.port}/ws"}}
"""})
    h = httpd(f'{ONE_CHILD}\nGramexConfig "{app}/gramex.yaml"\nGramexWebSocketAsync On\n'
              + STATUS).start()
    assert websockets_of(h) == counters()

    s, head, rest = raw_upgrade(h.port, '/chat')
    try:
        assert head.split(b'\r\n')[0] == b'HTTP/1.1 101 Switching Protocols'
        hello = masked_frame(b'hello', 0x1)                 # 2 + 4 (mask) + 5 bytes
        s.sendall(hello)
        echo = rest
        while len(echo) < 7:
            echo += s.recv(100)
        assert echo == b'\x81\x05hello'                     # the backend's echo, unmasked
        # the tunnel counts what it moves before it writes it: both are in
        assert websockets_of(h) == counters(open=1, opened=1, bytes_to_backend=len(hello),
                                            bytes_to_client=len(echo))
        bye = masked_frame(b'\x03\xe8', 0x8)                # close, 1000
        s.sendall(bye)
        closing = read_to_close(s)
    finally:
        s.close()
    assert closing == b'\x88\x02\x03\xe8'                   # the backend's close, 1000
    want = counters(opened=1, closed=1, bytes_to_backend=len(hello) + len(bye),
                    bytes_to_client=len(echo) + len(closing))
    end = time.time() + WAIT        # the tunnel thread closes after the client saw EOF
    while websockets_of(h) != want and time.time() < end:
        time.sleep(0.05)
    assert websockets_of(h) == want
    html = requests.get(f'{h.url}/gramex-status').text
    assert (f'<dt>WebSockets</dt><dd>0 open; 1 opened, 1 closed (0 dropped by a child\'s exit), '
            f'0 refused; 19 bytes to backends, 11 bytes to clients <span class="muted">({SCOPE})'
            f'</span></dd>') in html


def test_status_says_when_mod_gramex_ws_is_not_loaded(httpd):
    h = httpd(STATUS)
    h.conf.write_text('\n'.join(l for l in h.conf.read_text().splitlines()
                                if 'gramex_ws_module' not in l) + '\n')
    h.start()
    data = requests.get(f'{h.url}/gramex-status?json').json()
    assert data['websockets'] == {'module': False, 'note': 'mod_gramex_ws is not loaded'}
    html = requests.get(f'{h.url}/gramex-status').text
    assert '<dt>WebSockets</dt><dd>mod_gramex_ws is not loaded</dd>' in html
