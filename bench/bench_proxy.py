#!/usr/bin/python3
"""Proxy benchmarks (section 4 of bench/RESULTS.md), printed as markdown:
HTTP through a ProxyHandler route vs a plain ProxyPass to the same backend;
WebSocket echo round trips through mod_gramex vs plain mod_proxy_wstunnel vs
direct; idle WebSockets held, with threads and memory, beside nginx."""
import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import websockets

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / 'tests' / 'live'))
from bench import REPO, Apache, Nginx, free_port, interleaved, wait_port, world_readable_tmp  # noqa
from test_proxy import Backend  # noqa

IDLE = 1000
ROUNDTRIPS = 2000


def http_section(args, out):
    # a fast backend, so that the proxies are what is measured
    root = world_readable_tmp('gxbench-backend-')
    (root / 'data.json').write_text('{"x": 1}\n' * 50)
    (root / 'data.json').chmod(0o644)
    backend = Nginx('backend', f'location / {{ root {root}; }}')
    app = world_readable_tmp('gxbench-proxyapp-')
    (app / 'gramex.yaml').write_text(f"""
url:
  default: null
  api:
    pattern: /$YAMLURL/api/(.*)
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{backend.port}/{{0}}"}}
""")
    (app / 'gramex.yaml').chmod(0o644)
    gramex = Apache('mod_gramex', f'GramexPath {REPO}/conf\nGramexConfig {app}/gramex.yaml',
                    gramex=True)
    plain = Apache('apache', f'<Proxy "http://127.0.0.1:{backend.port}">\n'
                   'ProxySet keepalive=On timeout=300\n</Proxy>\n'
                   f'ProxyPass /api/ http://127.0.0.1:{backend.port}/\nProxyPreserveHost On')
    servers = [gramex, plain]
    try:
        backend.start()
        for s in servers:
            s.start()
        out.append('## 4. Proxy\n')
        out.append('HTTP through a ProxyHandler route vs a plain `ProxyPass` with a keepalive '
                   'worker, to the same nginx backend (450-byte JSON). Target >= 0.97x.\n')
        out.append('| conns | mod_gramex req/s | ProxyPass req/s | ratio | mod_gramex p99 ms | '
                   'ProxyPass p99 ms |')
        out.append('|---|---|---|---|---|---|')
        for conns in [1, 16]:
            r = interleaved(servers, lambda s: f'http://127.0.0.1:{s.port}/api/data.json', conns,
                            args.seconds, args.rounds)
            g, a = r['mod_gramex'], r['apache']
            out.append(f'| {conns} | {g[0]:.0f} | {a[0]:.0f} | {g[0] / a[0]:.3f} | {g[1]:.2f} | '
                       f'{a[1]:.2f} |')
        out.append('')
    finally:
        for s in servers + [backend]:
            s.stop()


async def roundtrips(url, n):
    times = []
    async with websockets.connect(url) as ws:
        for _ in range(n):
            t = time.perf_counter()
            await ws.send('ping')
            await ws.recv()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), sorted(times)[int(len(times) * 0.99)]


async def hold(url, n):
    socks = [await websockets.connect(url) for _ in range(n)]
    return socks


def tree_stats(pids):
    threads = rss = 0
    for pid in pids:
        try:
            for line in Path(f'/proc/{pid}/status').read_text().splitlines():
                if line.startswith('Threads:'):
                    threads += int(line.split()[1])
                elif line.startswith('VmRSS:'):
                    rss += int(line.split()[1])
        except OSError:
            pass
    return threads, rss / 1024


def apache_pids(a):
    main, kids = a.pids()
    return [main] + kids


def ws_section(args, out):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    backend = Backend('ws')
    app = world_readable_tmp('gxbench-wsapp-')
    (app / 'gramex.yaml').write_text(f"""
url:
  chat:
    pattern: /$YAMLURL/chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{backend.port}/ws"}}
""")
    (app / 'gramex.yaml').chmod(0o644)
    tuning = f'Include "{REPO}/conf/gramex-websockets.conf"'
    gramex = Apache('mod_gramex', f'{tuning}\nGramexPath {REPO}/conf\n'
                    f'GramexConfig {app}/gramex.yaml', gramex=True)
    plain = Apache('wstunnel', f'{tuning}\nProxyPass /chat ws://127.0.0.1:{backend.port}/ws')
    nginx = Nginx('nginx', f"""
    location /chat {{
      proxy_pass http://127.0.0.1:{backend.port}/ws;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 300s;
    }}""")
    try:
        for s in [gramex, plain, nginx]:
            s.start()
        urls = {'mod_gramex': f'ws://127.0.0.1:{gramex.port}/chat',
                'wstunnel': f'ws://127.0.0.1:{plain.port}/chat',
                'nginx': f'ws://127.0.0.1:{nginx.port}/chat',
                'direct': f'ws://127.0.0.1:{backend.port}/ws'}
        results = {k: [] for k in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                results[name].append(asyncio.run(roundtrips(url, ROUNDTRIPS)))
        med = {k: statistics.median(m for m, _ in v) for k, v in results.items()}
        p99 = {k: statistics.median(p for _, p in v) for k, v in results.items()}
        out.append(f'WebSocket echo round trips ({ROUNDTRIPS} sequential per round, median of '
                   f'{args.rounds} rounds). Target: mod_gramex <= 1.05x plain wstunnel.\n')
        out.append('| path | median ms | p99 ms | ratio to wstunnel |')
        out.append('|---|---|---|---|')
        for k in urls:
            out.append(f'| {k} | {med[k]:.3f} | {p99[k]:.3f} | {med[k] / med["wstunnel"]:.3f} |')
        out.append('')

        out.append(f'{IDLE} idle WebSockets held, then one plain HTTP request through the same '
                   'server. mod_gramex with conf/gramex-websockets.conf; nginx with 2 workers.\n')
        out.append('| server | held | HTTP while held | threads | RSS MB |')
        out.append('|---|---|---|---|---|')
        for name, srv, url, pids in [
                ('mod_gramex', gramex, urls['mod_gramex'], lambda: apache_pids(gramex)),
                ('nginx', nginx, urls['nginx'], lambda: [nginx.proc.pid] + [
                    int(x) for x in subprocess.run(['ps', '-o', 'pid=', '--ppid',
                                                    str(nginx.proc.pid)], capture_output=True,
                                                   text=True).stdout.split()])]:
            async def scenario():
                socks = await hold(url, IDLE)
                try:
                    r, w = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', srv.port), 30)
                    w.write(b'GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
                    reply = await asyncio.wait_for(r.read(), 30)
                    w.close()
                    threads, rss = tree_stats(pids())
                    return len(socks), reply.split(b'\r\n')[0].decode(), threads, rss
                finally:
                    await asyncio.gather(*(s.close() for s in socks), return_exceptions=True)
            held, http, threads, rss = asyncio.run(scenario())
            out.append(f'| {name} | {held} | {http} | {threads} | {rss:.0f} |')
        out.append('')
    finally:
        for s in [gramex, plain, nginx]:
            s.stop()
        backend.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    out = []
    http_section(args, out)
    ws_section(args, out)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
