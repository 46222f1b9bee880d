"""mod_gramex_ws's asynchronous tunnels under load: 3 cycles of 2,000
tunnels opened and closed (by the client, the backend, a TCP abort) bring
the fd count back to the same number and RSS stops growing; N idle sockets
cost a thread each through mod_proxy_http and none through the tunnel.
Figures are printed (pytest -s) for docs/proxy.md; no timing thresholds."""
import asyncio
import resource
import socket
import struct

import pytest
import websockets

from gxhttpd import BUILD, wait_until
from ws_util import ONE_CHILD, children, stable_fds, totals

pytestmark = pytest.mark.skipif(not (BUILD / 'mod_gramex_ws.so').exists(),
                                reason='mod_gramex_ws not built')
TUNNELS = 2000
IDLE = 300
WAIT = 60       # bounds, not measurements
WIDE = """<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 8
    ThreadLimit 64
    ThreadsPerChild 64
    MaxRequestWorkers 512
    MinSpareThreads 1
    MaxSpareThreads 512
    AsyncRequestWorkerFactor 100
</IfModule>"""


@pytest.fixture
def app(app_dir, backends):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    b = backends()
    return app_dir({'gramex.yaml': f"""
url:
  chat:
    pattern: /chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{b.port}/ws"}}
"""})


async def open_many(port, n):
    sem = asyncio.Semaphore(100)

    async def one():
        async with sem:
            return await asyncio.wait_for(
                websockets.connect(f'ws://127.0.0.1:{port}/chat', ping_interval=None), WAIT)
    return await asyncio.gather(*(one() for _ in range(n)))


async def cycle(port, how):
    conns = await open_many(port, TUNNELS)
    # every tunnel works before it is closed
    await asyncio.gather(*(c.send('x') for c in conns))
    assert {await asyncio.wait_for(c.recv(), WAIT) for c in conns} == {'x'}
    if how == 'client':
        await asyncio.gather(*(c.close() for c in conns))
    elif how == 'backend':
        await asyncio.gather(*(c.send('close-4001') for c in conns))
        await asyncio.gather(*(c.wait_closed() for c in conns))
        assert {c.close_code for c in conns} == {4001}
    else:
        for c in conns:
            s = c.transport.get_extra_info('socket')
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.transport.abort()


async def cycle_one(port):
    async with websockets.connect(f'ws://127.0.0.1:{port}/chat') as c:
        await c.send('x')
        assert await asyncio.wait_for(c.recv(), WAIT) == 'x'


def test_open_close_cycles_return_fds_and_memory(httpd, app):
    h = httpd(f'{ONE_CHILD}\nGramexConfig "{app}/gramex.yaml"\nGramexWebSocketAsync On').start()
    asyncio.run(cycle_one(h.port))      # the child is up and has served a tunnel
    fds_idle = stable_fds(h)
    child = children(h.pid())
    asyncio.run(cycle(h.port, 'client'))        # warm: pools, free lists, tunnel thread
    assert wait_until(lambda: totals(h.pid())[3] == fds_idle, WAIT)
    fds0, rss0 = totals(h.pid())[3], totals(h.pid())[2]
    seen = []
    for how in ['client', 'backend', 'abort']:
        asyncio.run(cycle(h.port, how))
        assert wait_until(lambda: totals(h.pid())[3] == fds0, WAIT), (how, totals(h.pid()), fds0)
        seen.append((how,) + totals(h.pid()))
    print(f'\nbaseline fds {fds0} rss {rss0} kB; after cycles {seen}')
    # RSS does not grow cycle over cycle (kB; allocator free lists stay)
    assert seen[-1][3] - rss0 < 8 * 1024, (rss0, seen)
    # the same child all along: nothing crashed or was replaced
    assert children(h.pid()) == child
    assert 'exit signal' not in h.error_log() and 'GX0045' not in h.error_log()


async def hold(port, n):
    conns = await open_many(port, n)
    await conns[0].send('still')
    assert await asyncio.wait_for(conns[0].recv(), WAIT) == 'still'
    return conns


@pytest.mark.parametrize('n', [IDLE])
def test_threads_for_idle_sockets(httpd, app, n):
    figures = {}
    for mode in ['On', 'Off']:
        h = httpd(f'{WIDE}\nGramexConfig "{app}/gramex.yaml"\nGramexWebSocketAsync {mode}').start()

        async def go():
            conns = await hold(h.port, n)
            await asyncio.sleep(1)      # let the MPM settle its children
            figures[mode] = totals(h.pid())
            await asyncio.gather(*(c.close() for c in conns))
        asyncio.run(go())
        h.cleanup()
    print(f'\n{n} idle WebSockets (processes, threads, RSS kB, child fds): '
          f'async {figures["On"]}, mod_proxy_http {figures["Off"]}')
    assert figures['On'][1] < figures['Off'][1]
    assert figures['Off'][1] >= n
