"""The `run` configuration holds 1,000 idle WebSockets through mod_gramex
while plain HTTP still answers; Debian's defaults warn at startup."""
import asyncio
import resource

import pytest
import websockets

from gxhttpd import REPO

IDLE_SOCKETS = 1000
# bounds, not measurements: a stalled server fails instead of hanging
CONNECT_TIMEOUT = 60
HTTP_TIMEOUT = 30


@pytest.fixture
def ws_app(httpd, app_dir, backends):
    b = backends()
    app = app_dir({'gramex.yaml': f"""
url:
  chat:
    pattern: /$YAMLURL/chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{b.port}/ws"}}
  page:
    pattern: /$YAMLURL/page
    handler: FileHandler
    kwargs: {{path: $YAMLPATH/page.html}}
""", 'page.html': 'ok\n'})
    return app


async def hold_and_probe(port):
    sockets = []
    try:
        for _ in range(IDLE_SOCKETS):
            sockets.append(await asyncio.wait_for(
                websockets.connect(f'ws://127.0.0.1:{port}/chat'), CONNECT_TIMEOUT))
        reader, writer = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', port),
                                                HTTP_TIMEOUT)
        writer.write(b'GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        reply = await asyncio.wait_for(reader.read(), HTTP_TIMEOUT)
        writer.close()
        # the sockets still work
        await sockets[0].send('still here')
        echo = await asyncio.wait_for(sockets[0].recv(), HTTP_TIMEOUT)
        return len(sockets), reply, echo
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def test_thousand_idle_websockets_with_run_settings(httpd, ws_app):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    h = httpd(f'Include "{REPO}/conf/gramex-websockets.conf"\n'
              f'GramexConfig "{ws_app}/gramex.yaml"').start()
    held, reply, echo = asyncio.run(hold_and_probe(h.port))
    assert held == IDLE_SOCKETS
    assert reply.startswith(b'HTTP/1.1 200') and reply.endswith(b'ok\n')
    assert echo == 'still here'
    assert 'GX0002' not in h.error_log()


def test_default_mpm_limits_warn_for_mod_proxy_http_tunnels(httpd, ws_app):
    # Debian-like defaults, and each WebSocket holding a worker
    h = httpd(f'GramexConfig "{ws_app}/gramex.yaml"\nGramexWebSocketAsync Off').start()
    log = h.error_log()
    assert 'GX0002' in log and 'MaxRequestWorkers' in log


def test_asynchronous_tunnels_are_not_capped_by_workers(httpd, ws_app):
    # the default: tunnels free their worker after the 101, so no GX0002
    h = httpd(f'GramexConfig "{ws_app}/gramex.yaml"')
    rc, out = h.check()
    assert rc == 0 and 'GX0002' not in out, out
    h.start()
    assert 'GX0041' in h.error_log() and 'GX0002' not in h.error_log()
