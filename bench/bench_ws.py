#!/usr/bin/python3
"""Idle WebSockets held side by side, in one run: plain Apache `ProxyPass ws://`
(mod_proxy_http's tunnel, a thread each), mod_gramex_ws's asynchronous tunnels
(GramexWebSocketAsync On, conf/gramex-websockets.conf) and nginx. For each
count: processes, threads and RSS of the whole server (parent and children,
from /proc), the ratios to ProxyPass, the memory each tunnel adds, and whether
a plain GET through the same server still answers. Then echo round trips on
one connection through each, and direct.

Clients and the backend speak raw sockets (after the 101 the proxies move bytes
as they are), so that Python's cost stays small next to 10,000 sockets. The
backend runs in its own process (its own fd limit). Bounded: every connect and
read has a timeout, and counts left when --budget seconds are spent are
skipped (and say so). Printed as markdown; `./apxs-build.sh bench` puts it in
bench/RESULTS.md."""
import argparse
import asyncio
import base64
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import BUILD, NGINX, REPO, Apache, Nginx, world_readable_tmp  # noqa: E402

FDS = resource.getrlimit(resource.RLIMIT_NOFILE)[1]     # the hard limit; servers inherit it
CONNECT_TIMEOUT = 60    # per WebSocket
OPEN_TIMEOUT = 600      # for all of one count
PARALLEL = 64           # handshakes in flight (a reconnect storm; see RESULTS.md)
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
# the reference's MPM settings for ProxyPass (a thread per WebSocket)
THREADED = """<IfModule mpm_event_module>
    StartServers 3
    ServerLimit 200
    ThreadLimit 64
    ThreadsPerChild 64
    MaxRequestWorkers 12800
    MinSpareThreads 64
    MaxSpareThreads 12800
    AsyncRequestWorkerFactor 80
</IfModule>
Timeout 600"""


# ---------------------------------------------------------------- backend

async def backend_conn(reader, writer):
    try:
        head = await reader.readuntil(b'\r\n\r\n')
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    lines = head.decode('latin-1').split('\r\n')
    fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(':') for x in lines[1:])}
    if fields.get('upgrade', '').lower() != 'websocket':
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n')
        await writer.drain()
        writer.close()
        return
    accept = base64.b64encode(hashlib.sha1((fields.get('sec-websocket-key', '') + GUID)
                                           .encode()).digest()).decode()
    writer.write(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                  f'Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n').encode())
    try:
        while True:     # echo the bytes as they come (frames stay whole)
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


def run_backend():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FDS, FDS))

    async def main():
        server = await asyncio.start_server(backend_conn, '127.0.0.1', 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()
    asyncio.run(main())


class Backend:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, __file__, '--backend'],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


# ---------------------------------------------------------------- clients

def frame(payload):
    """A masked text frame (a client's); the echo comes back as sent."""
    mask = b'\x01\x02\x03\x04'
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


async def connect(port, path):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write((f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'
                  f'Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n'
                  'Sec-WebSocket-Version: 13\r\n\r\n').encode())
    head = await reader.readuntil(b'\r\n\r\n')
    if not head.startswith(b'HTTP/1.1 101'):
        writer.close()
        raise ConnectionError(head.split(b'\r\n')[0].decode())
    return reader, writer


async def echo(conn, payload=b'ping'):
    reader, writer = conn
    f = frame(payload)
    writer.write(f)
    return await reader.readexactly(len(f)) == f


async def open_many(port, path, n):
    sem = asyncio.Semaphore(PARALLEL)

    async def one():
        async with sem:
            return await asyncio.wait_for(connect(port, path), CONNECT_TIMEOUT)
    got = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n)),
                                                return_exceptions=True), OPEN_TIMEOUT)
    conns = [c for c in got if not isinstance(c, BaseException)]
    errors = sorted({str(e) or type(e).__name__ for e in got if isinstance(e, BaseException)})
    return conns, errors


async def plain_get(port):
    t = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', port), 30)
    writer.write(b'GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
    reply = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return reply.split(b'\r\n')[0].decode(), (time.perf_counter() - t) * 1000


# ---------------------------------------------------------------- servers

def tree(pid):
    """pid and its descendants, from /proc."""
    kids = {}
    for d in Path('/proc').iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / 'stat').read_text().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def totals(pid):
    """(processes, threads, RSS MB) of a server's tree."""
    procs = threads = rss = 0
    for p in tree(pid):
        try:
            status = Path(f'/proc/{p}/status').read_text()
        except OSError:
            continue
        procs += 1
        for line in status.splitlines():
            if line.startswith('Threads:'):
                threads += int(line.split()[1])
            elif line.startswith('VmRSS:'):
                rss += int(line.split()[1])
    return procs, threads, rss / 1024


class Server:
    """One side of the comparison: what it is, how to start it, its root pid."""

    def __init__(self, name, label, make, path):
        self.name, self.label, self.make, self.path = name, label, make, path
        self.srv = None

    def start(self):
        self.srv = self.make().start()
        return self

    @property
    def port(self):
        return self.srv.port

    def pid(self):
        if isinstance(self.srv, Nginx):
            return self.srv.proc.pid
        end = time.time() + 10
        while True:
            try:
                return int((self.srv.dir / 'httpd.pid').read_text())
            except (OSError, ValueError):
                if time.time() > end:
                    raise
                time.sleep(0.1)

    def stop(self):
        if self.srv:
            self.srv.stop()
            self.srv = None


def servers(backend):
    bp = backend.port
    app = world_readable_tmp('gxbench-wsapp-')
    (app / 'gramex.yaml').write_text(f"""
url:
  chat:
    pattern: /chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{bp}/ws"}}
  page:
    pattern: /page
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{bp}/page"}}
""")
    (app / 'gramex.yaml').chmod(0o644)

    def proxypass():
        return Apache('proxypass', f'{THREADED}\nProxyPass /chat ws://127.0.0.1:{bp}/ws\n'
                      f'ProxyPass /page http://127.0.0.1:{bp}/page')

    def gramex_ws():
        return Apache('gramex-ws', f'LoadModule gramex_ws_module {BUILD}/mod_gramex_ws.so\n'
                      f'Include "{REPO}/conf/gramex-websockets.conf"\nTimeout 600\n'
                      f'GramexPath "{REPO}/conf"\nGramexConfig "{app}/gramex.yaml"',
                      gramex=True)

    def nginx():
        n = Nginx('nginx', f"""
    location /chat {{
      proxy_pass http://127.0.0.1:{bp}/ws;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 600s;
    }}
    location /page {{ proxy_pass http://127.0.0.1:{bp}/page; }}""")
        conf = n.conf.read_text().replace('events { worker_connections 4096; }',
                                          f'worker_rlimit_nofile {FDS};\n'
                                          f'events {{ worker_connections {FDS - 100}; }}')
        n.conf.write_text(conf)
        return n

    out = [Server('proxypass', '`ProxyPass ws://` (mod_proxy_http, 64 threads a child)',
                  proxypass, '/chat'),
           Server('gramex_ws', 'mod_gramex_ws async (conf/gramex-websockets.conf)',
                  gramex_ws, '/chat')]
    if os.path.exists(NGINX):
        out.append(Server('nginx', 'nginx (2 workers)', nginx, '/chat'))
    return out


# ---------------------------------------------------------------- the run

async def hold(server, n):
    """Open n idle WebSockets through server; figures while all are held."""
    # the server has served one tunnel: its child, pools and threads are up
    first = await asyncio.wait_for(connect(server.port, server.path), CONNECT_TIMEOUT)
    assert await asyncio.wait_for(echo(first), 30)
    first[1].close()
    await asyncio.sleep(1)
    base = totals(server.pid())
    t = time.perf_counter()
    conns, errors = await open_many(server.port, server.path, n)
    opened = time.perf_counter() - t
    try:
        await asyncio.sleep(2)      # the MPM settles its children
        ok = all([await asyncio.wait_for(echo(c), 30) for c in (conns[:1] + conns[-1:])])
        status, ms = await plain_get(server.port)
        procs, threads, rss = totals(server.pid())
    finally:
        for _, w in conns:
            w.close()
    return dict(held=len(conns), errors=errors, echo=ok, get=status, get_ms=ms, procs=procs,
                threads=threads, rss=rss, base_rss=base[2], opened=opened)


async def roundtrips(port, path, n):
    conn = await asyncio.wait_for(connect(port, path), CONNECT_TIMEOUT)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        assert await asyncio.wait_for(echo(conn), 30)
        times.append((time.perf_counter() - t) * 1000)
    conn[1].close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def held_rows(args, backend, out):
    end = time.time() + args.budget
    out.append('| idle WebSockets | server | held | processes | threads | RSS MB | '
               'KB per tunnel | threads vs ProxyPass | RSS vs ProxyPass | plain GET while held |')
    out.append('|---|---|---|---|---|---|---|---|---|---|')
    notes = []
    for n in args.counts:
        if time.time() > end:
            notes.append(f'- {n}: skipped, the --budget of {args.budget} s was spent')
            continue
        rows = {}
        for s in servers(backend):
            try:
                s.start()
                rows[s.name] = (s, asyncio.run(hold(s, n)))
            except Exception as e:      # a server that failed is a row that says so
                notes.append(f'- {n}, {s.name}: failed: {type(e).__name__} {e}'[:300])
            finally:
                s.stop()
        ref = rows.get('proxypass', (None, None))[1]
        for name in ['proxypass', 'gramex_ws', 'nginx']:
            if name not in rows:
                continue
            s, r = rows[name]
            per = (r['rss'] - r['base_rss']) * 1024 / max(r['held'], 1)
            ratio = (lambda k: f'{r[k] / ref[k]:.3f}' if ref and ref[k] else 'n/a')
            out.append(f'| {n:,} | {s.label} | {r["held"]:,} | {r["procs"]} | {r["threads"]:,} | '
                       f'{r["rss"]:.0f} | {per:.1f} | {ratio("threads")} | {ratio("rss")} | '
                       f'{r["get"]} ({r["get_ms"]:.1f} ms) |')
            if r['errors'] or not r['echo']:
                notes.append(f'- {n}, {name}: echo on first/last {"ok" if r["echo"] else "FAILED"}'
                             f'; refused: {"; ".join(r["errors"])[:200]}')
            print(f'{n} {name}: {r}', file=sys.stderr, flush=True)
    out.append('')
    out += notes


def latency_rows(args, backend, out):
    out.append(f'\nEcho round trips on one connection ({args.roundtrips} sequential 4-byte '
               'frames; median of the rounds, servers interleaved).\n')
    out.append('| path | median ms | p99 ms | ratio to ProxyPass |')
    out.append('|---|---|---|---|')
    srvs = [s.start() for s in servers(backend)]
    try:
        paths = [(s.name, s.port, s.path) for s in srvs] + [('direct', backend.port, '/ws')]
        res = {name: [] for name, _, _ in paths}
        for _ in range(args.rounds):
            for name, port, path in paths:
                res[name].append(asyncio.run(roundtrips(port, path, args.roundtrips)))
    finally:
        for s in srvs:
            s.stop()
    med = {k: statistics.median(m for m, _ in v) for k, v in res.items()}
    p99 = {k: statistics.median(p for _, p in v) for k, v in res.items()}
    for k in res:
        out.append(f'| {k} | {med[k]:.3f} | {p99[k]:.3f} | {med[k] / med["proxypass"]:.3f} |')
    out.append('')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--backend', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--counts', type=int, nargs='+', default=[1000, 5000, 10000])
    ap.add_argument('--budget', type=int, default=900, help='seconds for the held rows')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--roundtrips', type=int, default=2000)
    ap.add_argument('--no-latency', action='store_true')
    args = ap.parse_args()
    if args.backend:
        return run_backend()
    if not (BUILD / 'mod_gramex_ws.so').exists():
        sys.exit('bench_ws.py: build/mod_gramex_ws.so is missing: ./apxs-build.sh build')
    resource.setrlimit(resource.RLIMIT_NOFILE, (FDS, FDS))     # servers inherit it
    out = ['## 6. WebSockets held idle\n',
           'Made by bench/bench_ws.py in one run: the same raw-socket echo backend behind '
           'each server; totals of the server\'s processes from /proc while every WebSocket '
           f'is open ({PARALLEL} handshakes in flight while opening); "KB per tunnel" is the '
           'RSS added over the server after one tunnel, divided by the count. ProxyPass uses the reference\'s MPM settings (ServerLimit '
           '200, 64 threads a child, MaxSpareThreads 12800); mod_gramex_ws uses '
           'conf/gramex-websockets.conf as shipped (32 threads a child).\n']
    backend = Backend()
    try:
        held_rows(args, backend, out)
        if not args.no_latency:
            latency_rows(args, backend, out)
    finally:
        backend.stop()
    print('\n'.join(out))


if __name__ == '__main__':
    main()
