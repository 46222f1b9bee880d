"""Issue 9 item 6: WebSockets through a GramexUpstream with several URLs (a
sticky balancer): the handshake is tunnelled (members carry
upgrade=websocket), the ROUTEID cookie keeps a user's WebSocket on the
Gramex process that served their pages, Origin is checked as for one
upstream, and GramexWebSocketTimeout applies."""
import asyncio

import pytest
import requests
import websockets

from gxhttpd import BUILD
from ws_util import BALANCED_YAML


@pytest.fixture
def balanced(httpd, app_dir, backends):
    one, two = backends('one'), backends('two')
    app = app_dir({'gramex.yaml': BALANCED_YAML + '    kwargs: {origins: [trusted.example]}\n'})

    def make(extra=''):
        return httpd(f'GramexConfig "{app}/gramex.yaml"\n'
                     f'GramexUpstream {one.url} {two.url}\n{extra}').start()
    return make


def whoami(port, cookie=None, origin=None):
    async def go():
        kw = {'extra_headers': {'Cookie': cookie}} if cookie else {}
        if origin:
            kw['origin'] = origin
        async with websockets.connect(f'ws://127.0.0.1:{port}/livews', **kw) as ws:
            await ws.send('whoami')
            return await asyncio.wait_for(ws.recv(), 10)
    return asyncio.run(go())


def test_websocket_through_balancer(balanced):
    h = balanced()
    # each member tunnels upgrades
    assert whoami(h.port, 'ROUTEID=.r1') == 'whoami:one'
    assert whoami(h.port, 'ROUTEID=.r2') == 'whoami:two'
    assert {whoami(h.port) for _ in range(6)} == {'whoami:one', 'whoami:two'}
    # the process that served the page gets the WebSocket
    for _ in range(3):
        s = requests.Session()
        name = s.get(f'{h.url}/py/x').json()['backend']
        cookie = '; '.join(f'{k}={v}' for k, v in s.cookies.items())
        assert 'ROUTEID=.r' in cookie
        assert {whoami(h.port, cookie) for _ in range(3)} == {f'whoami:{name}'}
    # a plain request is still Gramex's 400
    r = requests.get(f'{h.url}/livews')
    assert r.status_code == 400 and 'Upgrade' in r.text


def test_balancer_websocket_origin_checks(balanced):
    h = balanced()
    assert whoami(h.port, 'ROUTEID=.r1', origin=f'http://127.0.0.1:{h.port}') == 'whoami:one'
    assert whoami(h.port, 'ROUTEID=.r2', origin='https://app.trusted.example') == 'whoami:two'
    for bad in ['https://evil.example', 'https://eviltrusted.example', 'null']:
        with pytest.raises(websockets.InvalidStatusCode) as e:
            whoami(h.port, origin=bad)
        assert e.value.status_code == 403


@pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(), reason='mod_gramex_ws not built')
def test_balancer_websocket_gets_the_idle_timeout(balanced):
    h = balanced('GramexWebSocketTimeout 3600\nLogLevel warn gramex:info gramex_ws:debug')
    assert whoami(h.port, 'ROUTEID=.r2') == 'whoami:two'
    assert 'GX0040: url live: WebSocket idle timeout 3600 s' in h.error_log()
    # plain HTTP through the same balancer keeps the server's Timeout
    assert requests.get(f'{h.url}/py/x').status_code == 200
    assert h.error_log().count('GX0040') == 1
