"""mod_gramex_ws's asynchronous tunnels (GramexWebSocketAsync On): the
handshake runs on a worker thread, then one thread per child carries every
open WebSocket. Each test checks the async path was taken (GX0042) and what
the client and backend saw, byte for byte."""
import asyncio
import socket
import struct

import pytest
import requests
import websockets

from gxhttpd import BUILD, wait_until
from ws_util import (ONE_CHILD, ScriptedBackend, StuckBackend, accept_key, masked_frame,
                     proxy_yaml, raw_upgrade, read_to_close, stable_fds, totals,
                     upgrade_request)

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
ASYNC = 'GramexWebSocketAsync On\nLogLevel warn gramex:info gramex_ws:debug'
WAIT = 20       # bounds on waits, not measurements


def app_yaml(port, extra=''):
    return f"""
url:
  chat:
    pattern: /chat
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{port}/ws", origins: [trusted.example]}}
  wschat:
    pattern: /wschat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{port}/ws"}}
  plain:
    pattern: /plain
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{port}/ws"}}
  page:
    pattern: /page
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{port}/page"}}
{extra}"""


@pytest.fixture
def backend(backends):
    return backends()


@pytest.fixture
def served(httpd, app_dir, backend):
    made = []

    def make(conf=ASYNC, port=None, yaml=None):
        app = app_dir({'gramex.yaml': yaml or app_yaml(port or backend.port)})
        made.append(httpd(f'{ONE_CHILD}\nGramexConfig "{app}/gramex.yaml"\n{conf}').start())
        return made[-1]
    yield make
    for h in made:      # no child crashed in any test
        assert 'exit signal' not in h.error_log(), h.error_log()


def echo(port, path='/chat', messages=('hello',), **kw):
    async def go():
        async with websockets.connect(f'ws://127.0.0.1:{port}{path}', max_size=None,
                                      **kw) as ws:
            out = []
            for m in messages:
                await ws.send(m)
                out.append(await asyncio.wait_for(ws.recv(), WAIT))
            return out
    return asyncio.run(go())


def test_echo_text_and_megabyte_binary(served):
    h = served()
    big = bytes(range(256)) * 4096
    assert echo(h.port, messages=['hello', big, 'é' * 70000]) == ['hello', big, 'é' * 70000]
    assert echo(h.port, '/wschat', ['via ws://']) == ['via ws://']
    log = h.error_log()
    assert 'GX0042: url chat: asynchronous WebSocket tunnel' in log
    assert 'GX0042: url wschat: asynchronous WebSocket tunnel' in log
    assert 'use asynchronous tunnels (GramexWebSocketAsync On)' in log
    # plain HTTP on the same urls is untouched
    assert requests.get(f'{h.url}/page').json()['path'] == '/page'


def test_async_is_the_default(served):
    h = served('LogLevel warn gramex:info gramex_ws:debug')
    assert echo(h.port) == ['hello']
    log = h.error_log()
    assert 'GX0042: url chat: asynchronous WebSocket tunnel' in log
    assert 'use asynchronous tunnels (GramexWebSocketAsync On)' in log


def test_off_is_mod_proxy_http(served):
    h = served('GramexWebSocketAsync Off\nLogLevel warn gramex:info gramex_ws:debug')
    assert echo(h.port) == ['hello']
    log = h.error_log()
    assert 'GX0042' not in log
    assert "use mod_proxy_http's tunnel (GramexWebSocketAsync Off)" in log


def test_handshake_is_relayed_exactly(served):
    h = served()
    s, head, rest = raw_upgrade(h.port, '/chat')
    lines = head.decode().split('\r\n')
    assert lines[0] == 'HTTP/1.1 101 Switching Protocols'
    assert f'Sec-Websocket-Accept: {accept_key()}' in lines   # Tornado's spelling, as sent
    s.sendall(masked_frame(b'raw', 0x1))
    data = rest
    while len(data) < 5:
        data += s.recv(100)
    assert data == b'\x81\x03raw'
    s.close()


def fds_now(h):
    return totals(h.pid())[3]


def test_close_from_client_backend_and_abort(served):
    h = served()
    echo(h.port)            # warm: the child has its backend pool and tunnel thread
    base = stable_fds(h)

    async def client_close():
        ws = await websockets.connect(f'ws://127.0.0.1:{h.port}/chat')
        await ws.send('x')
        await ws.recv()
        await ws.close()
        return ws.close_code

    async def backend_close():
        ws = await websockets.connect(f'ws://127.0.0.1:{h.port}/chat')
        await ws.send('close-4001')
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT)
        await ws.wait_closed()
        return ws.close_code, ws.close_reason

    assert asyncio.run(client_close()) == 1000
    assert wait_until(lambda: fds_now(h) == base, WAIT)
    assert asyncio.run(backend_close()) == (4001, 'asked')
    assert wait_until(lambda: fds_now(h) == base, WAIT)
    # TCP abort: RST from the client with the tunnel open
    s, head, _ = raw_upgrade(h.port, '/chat')
    assert head.startswith(b'HTTP/1.1 101')
    assert wait_until(lambda: fds_now(h) == base + 2, WAIT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    assert wait_until(lambda: fds_now(h) == base, WAIT)
    assert echo(h.port) == ['hello']


@pytest.mark.parametrize('status,reason', [(403, 'Forbidden'), (500, 'Internal Server Error')])
def test_backend_refusing_the_upgrade_is_relayed(served, status, reason):
    body = f'{{"error": "no upgrade {status}"}}'.encode()
    answer = (f'HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n'
              f'X-Backend-Says: no\r\nContent-Length: {len(body)}\r\n\r\n').encode() + body
    b = ScriptedBackend(answer)
    try:
        h = served(port=b.port)
        s, head, rest = raw_upgrade(h.port, '/chat')
        assert head + b'\r\n\r\n' + read_to_close(s, rest) == answer
        s.close()
        with pytest.raises(websockets.InvalidStatusCode) as e:
            echo(h.port)
        assert e.value.status_code == status
        # the backend saw the upgrade, with mod_proxy's forwarding headers
        req = b.requests[0].decode()
        assert req.startswith('GET /ws HTTP/1.1\r\n')
        assert 'Upgrade: websocket\r\n' in req and 'X-Forwarded-For: 127.0.0.1' in req
    finally:
        b.stop()


def test_origins_refused(served):
    h = served()
    assert echo(h.port, origin='https://app.trusted.example') == ['hello']
    for bad in ['https://evil.example', 'null']:
        with pytest.raises(websockets.InvalidStatusCode) as e:
            echo(h.port, origin=bad)
        assert e.value.status_code == 403


def test_cap_answers_503(served):
    h = served(f'{ASYNC}\nGramexWebSocketMaxTunnels 3')

    async def go():
        held = [await websockets.connect(f'ws://127.0.0.1:{h.port}/chat') for _ in range(3)]
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(f'ws://127.0.0.1:{h.port}/chat')
        await held[0].send('still')
        got = await asyncio.wait_for(held[0].recv(), WAIT)
        for w in held:
            await w.close()
        return e.value.status_code, got
    assert asyncio.run(go()) == (503, 'still')
    assert 'GX0043' in h.error_log()
    # closed tunnels free their places
    assert wait_until(lambda: echo_ok(h.port), WAIT)


def echo_ok(port):
    try:
        return echo(port) == ['hello']
    except websockets.InvalidStatusCode:
        return False


# mod_gramex's workers for a url with origins carry timeout=300: one url only
def plain_yaml(port):
    return proxy_yaml('plain', port)


def test_idle_timeout_closes(served, backend):
    h = served(f'{ASYNC}\nTimeout 1\nProxyTimeout 1', yaml=plain_yaml(backend.port))

    async def go():
        async with websockets.connect(f'ws://127.0.0.1:{h.port}/plain', ping_interval=None) as ws:
            await ws.send('a')
            assert await ws.recv() == 'a'
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), WAIT)
    asyncio.run(go())
    assert 'GX0045: idle WebSocket closed after 1 s' in h.error_log()


def test_websocket_timeout_keeps_it_open(served, backend):
    h = served(f'{ASYNC}\nTimeout 1\nProxyTimeout 1\nGramexWebSocketTimeout 60',
               yaml=plain_yaml(backend.port))

    async def go():
        async with websockets.connect(f'ws://127.0.0.1:{h.port}/plain', ping_interval=None) as ws:
            await asyncio.sleep(3)
            await ws.send('b')
            return await asyncio.wait_for(ws.recv(), WAIT)
    assert asyncio.run(go()) == 'b'
    assert 'GX0045' not in h.error_log()


def rss(h):
    return totals(h.pid())[2]


def test_slow_reader_keeps_memory_bounded(served):
    """The backend sends 1 MiB frames to a client that never reads: the
    tunnel stops reading the backend, whose writes then block; the server's
    RSS stays within a few MiB."""
    b = StuckBackend(flood=True)
    try:
        h = served(port=b.port)
        before = rss(h)
        s, head, _ = raw_upgrade(h.port, '/chat')
        assert head.startswith(b'HTTP/1.1 101')
        assert b.done.wait(WAIT * 3)
        after = rss(h)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        assert b.sent < 256, 'the backend was never pushed back'
        assert after - before < 16 * 1024, (before, after, b.sent)     # kB
    finally:
        b.stop()


def test_slow_backend_keeps_memory_bounded(served):
    """The client sends 1 MiB frames to a backend that never reads: the
    client's writes block, the server's RSS stays within a few MiB."""
    b = StuckBackend(flood=False)
    try:
        h = served(port=b.port)
        before = rss(h)
        s, head, _ = raw_upgrade(h.port, '/chat')
        assert head.startswith(b'HTTP/1.1 101')
        s.settimeout(3)
        frame = masked_frame(b'\x00' * (1 << 20))
        sent = 0
        try:
            for _ in range(256):
                s.sendall(frame)
                sent += 1
        except socket.timeout:
            pass
        after = rss(h)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        assert sent < 256, 'the client was never pushed back'
        assert after - before < 16 * 1024, (before, after, sent)
    finally:
        b.stop()


def test_graceful_restart_with_open_tunnels(served):
    h = served()

    async def go():
        held = [await websockets.connect(f'ws://127.0.0.1:{h.port}/chat') for _ in range(20)]
        for i, w in enumerate(held):
            await w.send(f'before {i}')
            assert await asyncio.wait_for(w.recv(), WAIT) == f'before {i}'
        rc, out = await asyncio.get_running_loop().run_in_executor(None, h.graceful)
        assert rc == 0, out
        for i, w in enumerate(held):
            await w.send(f'after {i}')
            assert await asyncio.wait_for(w.recv(), WAIT) == f'after {i}'
        fresh = await websockets.connect(f'ws://127.0.0.1:{h.port}/chat')
        await fresh.send('new child')
        got = await asyncio.wait_for(fresh.recv(), WAIT)
        for w in held + [fresh]:
            await w.close()
        return got
    assert asyncio.run(go()) == 'new child'


def test_clients_that_close_at_once(served):
    """The handoff race: clients reset right after the upgrade request, or
    right after the 101; no child crashes and every fd comes back."""
    h = served()
    echo(h.port)
    base = stable_fds(h)
    for i in range(200):
        s = socket.create_connection(('127.0.0.1', h.port), timeout=WAIT)
        s.sendall(upgrade_request('/chat'))
        if i % 2:
            s.recv(1)       # the 101 has started to arrive
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
    assert wait_until(lambda: fds_now(h) == base, WAIT), (fds_now(h), base)
    assert echo(h.port) == ['hello']


def test_worker_mpm_falls_back(httpd, app_dir, backend):
    from gxhttpd import DEBIAN_MODULES
    app = app_dir({'gramex.yaml': app_yaml(backend.port)})
    mods = ['mpm_worker' if m == 'mpm_event' else m for m in DEBIAN_MODULES]
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n{ASYNC}', modules=mods).start()
    assert echo(h.port) == ['hello']
    log = h.error_log()
    assert "mod_proxy_http's tunnel (GramexWebSocketAsync On needs the event MPM)" in log
    assert 'GX0042' not in log


@pytest.mark.parametrize('line', ['GramexWebSocketMaxTunnels 0', 'GramexWebSocketMaxTunnels x',
                                  'GramexWebSocketGrace -1', 'GramexWebSocketAsync maybe'])
def test_bad_settings_fail_config_test(httpd, line):
    rc, out = httpd(line).check()
    assert rc != 0 and line.split()[0] in out
