"""mod_gramex_ws: GramexWebSocketTimeout keeps idle WebSockets open longer
than the proxy timeout, for mod_gramex's WebSocket urls only. The server
here uses 1 s timeouts so that 'idle' is short; the waits are bounds."""
import asyncio

import pytest
import websockets

from gxhttpd import BUILD
from ws_util import proxy_yaml

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
SHORT = 'Timeout 1\nProxyTimeout 1'


@pytest.fixture
def ws_app(app_dir, backends):
    b = backends()
    return app_dir({'gramex.yaml': proxy_yaml('chat', b.port)})


async def idle_then_send(port, idle):
    async with websockets.connect(f'ws://127.0.0.1:{port}/chat', ping_interval=None) as conn:
        await conn.send('a')
        assert await asyncio.wait_for(conn.recv(), 10) == 'a'
        await asyncio.sleep(idle)
        await conn.send('b')
        return await asyncio.wait_for(conn.recv(), 10)


def test_idle_websocket_closes_at_the_proxy_timeout(httpd, ws_app):
    h = httpd(f'GramexConfig "{ws_app}/gramex.yaml"\n{SHORT}').start()
    with pytest.raises(websockets.ConnectionClosed):
        asyncio.run(idle_then_send(h.port, 4))


def test_websocket_timeout_keeps_it_open(httpd, ws_app):
    h = httpd(f'GramexConfig "{ws_app}/gramex.yaml"\n{SHORT}\nGramexWebSocketTimeout 60').start()
    assert asyncio.run(idle_then_send(h.port, 4)) == 'b'


@pytest.mark.parametrize('value', ['0', 'abc', '10s', '99999999'])
def test_bad_timeout_fails_config_test(httpd, value):
    h = httpd(f'GramexWebSocketTimeout {value}')
    rc, out = h.check()
    assert rc != 0 and 'GramexWebSocketTimeout' in out and 'seconds' in out
