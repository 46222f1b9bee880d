"""mod_gramex_ws's asynchronous tunnels behind mod_ssl (the client side in
TLS 1.2/1.3; bytes go through mod_ssl's filters on the tunnel thread),
through a sticky balancer (GramexUpstream with several URLs), and a
stopping child's close code 1001 after GramexWebSocketGrace."""
import asyncio
import ssl
import subprocess
import threading

import pytest
import requests
import websockets

from gxhttpd import BUILD, free_port
from gxbackends import Backend
from test_ws_async import ONE_CHILD, WAIT
from ws_util import BALANCED_YAML, proxy_yaml

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
DEBUG = 'GramexWebSocketAsync On\nLogLevel warn gramex:info gramex_ws:debug'


@pytest.fixture
def backend(backends):
    return backends('one')


@pytest.fixture
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp('cert')
    d.chmod(0o755)
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(d / 'key.pem'), '-out', str(d / 'cert.pem')],
                   check=True, capture_output=True)
    for f in d.iterdir():
        f.chmod(0o644)
    return d


def chat_yaml(port):
    return proxy_yaml('chat', port)


def test_tls_client_through_mod_ssl(httpd, app_dir, backend, cert):
    app = app_dir({'gramex.yaml': chat_yaml(backend.port)})
    tls = free_port()
    h = httpd(f"""{ONE_CHILD}
{DEBUG}
Listen 127.0.0.1:{tls}
<VirtualHost 127.0.0.1:{tls}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "{cert}/cert.pem"
    SSLCertificateKeyFile "{cert}/key.pem"
    GramexConfig "{app}/gramex.yaml"
</VirtualHost>""", extra_modules=['socache_shmcb', 'ssl']).start()
    ctx = ssl.create_default_context(cafile=str(cert / 'cert.pem'))
    big = bytes(range(256)) * 4096

    async def go():
        got = []
        for _ in range(3):      # several tunnels, each closed by the client
            async with websockets.connect(f'wss://127.0.0.1:{tls}/chat', ssl=ctx,
                                          max_size=None) as ws:
                for m in ['hello', big]:
                    await ws.send(m)
                    got.append(await asyncio.wait_for(ws.recv(), WAIT) == m)
        async with websockets.connect(f'wss://127.0.0.1:{tls}/chat', ssl=ctx) as ws:
            await ws.send('close-4001')
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), WAIT)
            got.append(ws.close_code == 4001)
        return got
    assert asyncio.run(go()) == [True] * 7
    log = h.error_log()
    assert log.count('GX0042: url chat: asynchronous WebSocket tunnel') == 4
    assert 'exit signal' not in log


def test_balancer_sticky_tunnels(httpd, app_dir, backend):
    two = Backend('two')
    try:
        app = app_dir({'gramex.yaml': BALANCED_YAML})
        h = httpd(f'{ONE_CHILD}\n{DEBUG}\nGramexConfig "{app}/gramex.yaml"\n'
                  f'GramexUpstream {backend.url} {two.url}').start()

        async def whoami(cookie):
            async with websockets.connect(f'ws://127.0.0.1:{h.port}/livews',
                                          extra_headers={'Cookie': cookie}) as ws:
                await ws.send('whoami')
                return await asyncio.wait_for(ws.recv(), WAIT)
        for _ in range(3):
            s = requests.Session()
            name = s.get(f'{h.url}/py/x').json()['backend']
            cookie = '; '.join(f'{k}={v}' for k, v in s.cookies.items())
            assert {asyncio.run(whoami(cookie)) for _ in range(3)} == {f'whoami:{name}'}
        assert h.error_log().count('GX0042: url live: asynchronous WebSocket tunnel') == 9
    finally:
        two.stop()


def test_grace_sends_1001_to_open_tunnels(httpd, app_dir, backend):
    app = app_dir({'gramex.yaml': chat_yaml(backend.port)})
    h = httpd(f'{ONE_CHILD}\n{DEBUG}\nGramexWebSocketGrace 1\n'
              f'GramexConfig "{app}/gramex.yaml"').start()

    async def go():
        ws = await websockets.connect(f'ws://127.0.0.1:{h.port}/chat', ping_interval=None)
        await ws.send('a')
        assert await asyncio.wait_for(ws.recv(), WAIT) == 'a'
        rc, out = await asyncio.get_running_loop().run_in_executor(None, h.graceful)
        assert rc == 0, out
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT)
        fresh = await websockets.connect(f'ws://127.0.0.1:{h.port}/chat')
        await fresh.send('new child')
        got = await asyncio.wait_for(fresh.recv(), WAIT)
        await fresh.close()
        return ws.close_code, got
    assert asyncio.run(go()) == (1001, 'new child')


class TlsEchoBackend:
    """A WebSocket echo server that speaks only TLS (the test certificate);
    'close-4001' closes with that code."""

    def __init__(self, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert / 'cert.pem'), str(cert / 'key.pem'))
        self.loop = asyncio.new_event_loop()
        self.seen = []
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ctx, ready), daemon=True).start()
        assert ready.wait(WAIT)

    def _run(self, ctx, ready):
        asyncio.set_event_loop(self.loop)

        async def handler(ws, *path):
            self.seen.append(ws.transport.get_extra_info('ssl_object').version())
            async for m in ws:
                if m == 'close-4001':
                    await ws.close(4001)
                    return
                await ws.send(m)
        self.server = self.loop.run_until_complete(
            websockets.serve(handler, '127.0.0.1', 0, ssl=ctx, max_size=None))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_tls_to_the_backend_is_asynchronous(httpd, app_dir, cert):
    b = TlsEchoBackend(cert)
    try:
        app = app_dir({'gramex.yaml': f"""
url:
  secure:
    pattern: /secure
    handler: ProxyHandler
    kwargs: {{url: "wss://127.0.0.1:{b.port}/ws"}}
  viahttps:
    pattern: /viahttps
    handler: ProxyHandler
    kwargs: {{url: "https://127.0.0.1:{b.port}/ws"}}
"""})
        h = httpd(f'{ONE_CHILD}\n{DEBUG}\nSSLProxyEngine On\nGramexConfig "{app}/gramex.yaml"',
                  extra_modules=['socache_shmcb', 'ssl']).start()
        big = bytes(range(256)) * 4096

        async def go(path):
            got = []
            async with websockets.connect(f'ws://127.0.0.1:{h.port}{path}',
                                          max_size=None) as ws:
                for m in ['hello', big, 'é' * 70000]:
                    await ws.send(m)
                    got.append(await asyncio.wait_for(ws.recv(), WAIT) == m)
            async with websockets.connect(f'ws://127.0.0.1:{h.port}{path}') as ws:
                await ws.send('close-4001')
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), WAIT)
                got.append(ws.close_code)
            return got
        assert asyncio.run(go('/secure')) == [True, True, True, 4001]
        assert asyncio.run(go('/viahttps')) == [True, True, True, 4001]
        log = h.error_log()
        assert log.count('GX0042: url secure: asynchronous WebSocket tunnel') == 2
        assert log.count('GX0042: url viahttps: asynchronous WebSocket tunnel') == 2
        assert len(b.seen) == 4 and set(b.seen) <= {'TLSv1.2', 'TLSv1.3'}
        assert 'exit signal' not in log
    finally:
        b.stop()
