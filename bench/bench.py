#!/usr/bin/python3
"""mod_gramex benchmarks: side by side with plain Apache and nginx, in one run.

Writes bench/RESULTS.md. Servers are interleaved (A B C A B C ...) for at
least 3 rounds; every number is a median; ratios are against plain Apache.
Loopback only; every load run is bounded by wrk's -d. Run through
`./apxs-build.sh bench`, never as part of `test`.
"""
import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / 'build'
MODULES = Path('/usr/lib/apache2/modules')
APACHE = '/usr/sbin/apache2'
NGINX = '/usr/sbin/nginx'
START_TIMEOUT = 15          # seconds to wait for a server to answer
ALLOWED_EXT = ['html', 'js', 'png', 'css', 'json']
SECURITY_HEADERS = {
    'X-XSS-Protection': '1; mode=block',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'SAMEORIGIN',
}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=START_TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'server on {port} exited with {proc.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f'nothing answers on port {port} after {timeout}s')


def world_readable_tmp(prefix):
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


class Apache:
    """A private httpd: our conf, our pid file, stopped by pid."""

    BASE_MODULES = ['mpm_event', 'authz_core', 'mime', 'headers', 'alias',
                    'proxy', 'proxy_http', 'proxy_wstunnel', 'deflate', 'filter']

    def __init__(self, name, body, gramex=False, extra_modules=()):
        self.name = name
        self.dir = world_readable_tmp(f'gxbench-{name}-')
        self.port = free_port()
        mods = [f'LoadModule {m}_module {MODULES}/mod_{m}.so' for m in
                self.BASE_MODULES + list(extra_modules)]
        if gramex:
            mods.append(f'LoadModule gramex_module {BUILD}/mod_gramex.so')
        self.conf = self.dir / 'httpd.conf'
        self.conf.write_text('\n'.join(mods + [
            f'ServerRoot {self.dir}',
            f'Listen 127.0.0.1:{self.port}',
            'ServerName 127.0.0.1',
            f'PidFile {self.dir}/httpd.pid',
            f'ErrorLog {self.dir}/error.log',
            'LogLevel warn',
            f'DefaultRuntimeDir {self.dir}',
            f'Mutex file:{self.dir} default',
            'User www-data',
            'Group www-data',
            'TypesConfig /etc/mime.types',
            'ServerTokens Prod',
            # Debian's defaults for the event MPM
            'StartServers 2', 'ThreadsPerChild 25', 'MaxRequestWorkers 150',
            'KeepAlive On', 'MaxKeepAliveRequests 0',
            '<Directory />', 'Require all denied', 'AllowOverride None', '</Directory>',
            body,
        ]) + '\n')

    def config_test(self):
        t = time.perf_counter()
        out = subprocess.run([APACHE, '-t', '-f', str(self.conf)], capture_output=True, text=True)
        return time.perf_counter() - t, out

    def start(self):
        dt, out = self.config_test()
        if out.returncode:
            raise RuntimeError(f'{self.name}: apache2 -t failed:\n{out.stderr}')
        subprocess.run([APACHE, '-f', str(self.conf), '-k', 'start'], check=True)
        wait_port(self.port)
        return self

    def pids(self):
        main = int((self.dir / 'httpd.pid').read_text())
        kids = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(main)], capture_output=True,
                              text=True).stdout.split()
        return main, [int(k) for k in kids]

    def stop(self):
        main, end = None, time.time() + 5
        while main is None:
            try:        # httpd writes its pid file a moment after it answers
                main = int((self.dir / 'httpd.pid').read_text())
            except (OSError, ValueError):
                if time.time() > end:
                    return
                time.sleep(0.1)
        os.kill(main, signal.SIGTERM)
        end = time.time() + 10
        while time.time() < end:
            try:
                os.kill(main, 0)
                time.sleep(0.1)
            except OSError:
                break
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx:
    def __init__(self, name, body):
        self.name = name
        self.dir = world_readable_tmp(f'gxbench-{name}-')
        self.port = free_port()
        self.conf = self.dir / 'nginx.conf'
        self.conf.write_text(f"""
worker_processes 2;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
user www-data;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  server_tokens off;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    {body}
  }}
}}
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([NGINX, '-c', str(self.conf), '-g', 'daemon off;'])
        wait_port(self.port, self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(url, conns, seconds):
    threads = min(2, conns)
    out = subprocess.run(['wrk', f'-t{threads}', f'-c{conns}', f'-d{seconds}s', '--latency', url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p99 = re.search(r'99%\s+([\d.]+)(us|ms|s)\b', out)
    scale = {'us': 0.001, 'ms': 1.0, 's': 1000.0}[p99.group(2)]
    non2xx = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    if non2xx:
        raise RuntimeError(f'{url}: {non2xx.group(1)} error responses during the run')
    return rps, float(p99.group(1)) * scale


def interleaved(servers, urls_for, conns, seconds, rounds):
    """{server name: [(rps, p99), ...]} with servers interleaved per round."""
    results = {s.name: [] for s in servers}
    for _ in range(rounds):
        for s in servers:
            results[s.name].append(wrk(urls_for(s), conns, seconds))
    return {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
            for k, v in results.items()}


# ---------------------------------------------------------------- static files

def make_static_app():
    app = world_readable_tmp('gxbench-app-')
    static = app / 'static'
    static.mkdir()
    static.chmod(0o755)
    (static / 'page.html').write_bytes(b'<!doctype html><title>x</title>' + b'x' * (1024 - 31))
    (static / 'app.js').write_bytes(b'var a=1;\n' * (100 * 1024 // 9))
    (static / 'image.png').write_bytes(os.urandom(2 * 1024 * 1024))
    (static / 'secret.yaml').write_text('password: x\n')
    (app / 'gramex.yaml').write_text(
        'import: $GRAMEXPATH/deploy.yaml\n'
        'url:\n'
        '  default: null\n'
        '  static:\n'
        '    pattern: /$YAMLURL/static/(.*)\n'
        '    handler: FileHandler\n'
        '    kwargs:\n'
        '      path: $YAMLPATH/static/\n')
    for f in static.iterdir():
        f.chmod(0o644)
    (app / 'gramex.yaml').chmod(0o644)
    return app


def static_servers(app):
    static = app / 'static'
    headers = '\n'.join(f'Header always set {k} "{v}"' for k, v in SECURITY_HEADERS.items())
    allowed = '|'.join(ALLOWED_EXT)
    gramex = Apache('mod_gramex', f'GramexPath {REPO}/conf\nGramexConfig {app}/gramex.yaml',
                    gramex=True)
    plain = Apache('apache', f"""
Alias /static/ {static}/
<Directory {static}>
  Require all granted
  Options -Indexes -FollowSymLinks
  AllowOverride None
  <FilesMatch "^\\.|\\.(?!({allowed})$)[^.]*$">
    Require all denied
  </FilesMatch>
</Directory>
{headers}
""")
    ngx_headers = ' '.join(f"add_header {k} '{v}' always;" for k, v in SECURITY_HEADERS.items())
    nginx = Nginx('nginx', f"""
    location ~ /\\. {{ deny all; }}
    location ~ ^/static/.*\\.({allowed})$ {{ root {app}; {ngx_headers} }}
    location /static/ {{ deny all; }}
""")
    return [gramex, plain, nginx]


def bench_static(args, report):
    app = make_static_app()
    servers = static_servers(app)
    try:
        for s in servers:
            s.start()
        report.append('## 1. Static files\n')
        report.append('FileHandler with deploy.yaml vs the same files under hand-written plain '
                      'Apache (Alias, FilesMatch deny list, Header set, ServerTokens Prod, no '
                      'Indexes) and nginx. Targets: requests/s >= 0.97x plain Apache, p99 <= '
                      '1.05x.\n')
        report.append('| file | conns | mod_gramex req/s | apache req/s | nginx req/s | '
                      'gramex/apache req/s | mod_gramex p99 ms | apache p99 ms | nginx p99 ms | '
                      'gramex/apache p99 |')
        report.append('|---|---|---|---|---|---|---|---|---|---|')
        for name, size in [('page.html', '1 KiB'), ('app.js', '100 KiB'), ('image.png', '2 MiB')]:
            for conns in args.conns:
                r = interleaved(servers, lambda s: f'http://127.0.0.1:{s.port}/static/{name}',
                                conns, args.seconds, args.rounds)
                g, a, n = r['mod_gramex'], r['apache'], r['nginx']
                report.append(f'| {name} ({size}) | {conns} | {g[0]:.0f} | {a[0]:.0f} | {n[0]:.0f} | '
                              f'{g[0] / a[0]:.3f} | {g[1]:.2f} | {a[1]:.2f} | {n[1]:.2f} | '
                              f'{g[1] / a[1]:.3f} |')
                print(report[-1], flush=True)
        report.append('')
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(app, ignore_errors=True)


# ---------------------------------------------------------------- route scaling

def make_routes_app(n, per_file=10):
    """n url entries with distinct regexes, spread over imported files."""
    app = world_readable_tmp(f'gxbench-routes{n}-')
    (app / 'hit.txt').write_text('hit\n')
    imports = []
    files = max(1, n // per_file)
    for f in range(files):
        sub = app / f'mod{f}'
        sub.mkdir()
        sub.chmod(0o755)
        lines = ['url:']
        for i in range(f * per_file, min(n, (f + 1) * per_file)):
            lines += [f'  r{i}:', f'    pattern: /$YAMLURL/r{i}/item/([0-9]+)/page',
                      '    handler: FileHandler', f'    kwargs: {{path: $YAMLPATH/../hit.txt}}']
        (sub / 'gramex.yaml').write_text('\n'.join(lines) + '\n')
        (sub / 'gramex.yaml').chmod(0o644)
        imports.append(f'  m{f}: mod{f}/gramex.yaml')
    root = ['import:'] + imports + ['url:', '  default: null', '  favicon: null']
    (app / 'gramex.yaml').write_text('\n'.join(root) + '\n')
    for p in [app / 'gramex.yaml', app / 'hit.txt']:
        p.chmod(0o644)
    last_url = f'/mod{files - 1}/r{n - 1}/item/42/page'
    return app, last_url


def plain_locationmatch(n, app):
    blocks = []
    for i in range(n):
        f = i // 10
        blocks.append(f'<LocationMatch "^/mod{f}/r{i}/item/([0-9]+)/page$">\n'
                      f'  Header set X-Route r{i}\n</LocationMatch>')
    return (f'AliasMatch ^/mod.* {app}/hit.txt\n'
            f'<Directory {app}>\nRequire all granted\n</Directory>\n' + '\n'.join(blocks))


def bench_routes(args, report):
    report.append('## 2. Route scaling\n')
    report.append('Apps with N url entries (distinct regexes, 10 per imported file). `last` '
                  'requests a URL matching the last route, `none` one matching no route (404). '
                  'Target: 10,000 routes >= 0.95x the requests/s of 1 route. Plain Apache: the '
                  'same regexes as `<LocationMatch>` blocks.\n')
    report.append('| routes | mod_gramex last req/s | mod_gramex none req/s | ratio to 1 route '
                  '(last) | plain LocationMatch last req/s | plain ratio to 1 route |')
    report.append('|---|---|---|---|---|---|')
    base_g = base_p = None
    for n in args.routes:
        app, last = make_routes_app(n)
        g = Apache(f'gramex{n}', f'GramexPath {REPO}/conf\nGramexConfig {app}/gramex.yaml',
                   gramex=True)
        p = Apache(f'plain{n}', plain_locationmatch(n, app))
        try:
            g.start()
            p.start()
            rl = interleaved([g, p], lambda s: f'http://127.0.0.1:{s.port}{last}', args.route_conns,
                             args.seconds, args.rounds)
            none = statistics.median(
                wrk_any(f'http://127.0.0.1:{g.port}/nothing/here', args.route_conns, args.seconds)
                for _ in range(args.rounds))
            gl, pl = rl[g.name][0], rl[p.name][0]
            base_g = base_g or gl
            base_p = base_p or pl
            report.append(f'| {n} | {gl:.0f} | {none:.0f} | {gl / base_g:.3f} | {pl:.0f} | '
                          f'{pl / base_p:.3f} |')
            print(report[-1], flush=True)
        finally:
            g.stop()
            p.stop()
            shutil.rmtree(app, ignore_errors=True)
    report.append('')


def wrk_any(url, conns, seconds):
    """wrk for URLs that answer 404 on purpose: only requests/s."""
    out = subprocess.run(['wrk', '-t2', f'-c{conns}', f'-d{seconds}s', url], capture_output=True,
                         text=True, timeout=seconds + 30).stdout
    return float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))


# ---------------------------------------------------------------- config load + memory

def rss_kb(pid):
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    return 0


def bench_load(args, report):
    n = args.load_routes
    app, last = make_routes_app(n, per_file=max(1, n // 1000))
    empty = Apache('empty', '')
    g = Apache('gramexload', f'GramexPath {REPO}/conf\nGramexConfig {app}/gramex.yaml', gramex=True)
    try:
        times = sorted(g.config_test()[0] for _ in range(args.rounds))
        empty_t = sorted(empty.config_test()[0] for _ in range(args.rounds))
        g.start()
        empty.start()
        # touch every child so their memory is in use, then read RSS
        for _ in range(20):
            subprocess.run(['curl', '-s', '-o', '/dev/null', f'http://127.0.0.1:{g.port}{last}'])
        time.sleep(0.5)
        g_rss = max(rss_kb(k) for k in g.pids()[1])
        e_rss = max(rss_kb(k) for k in empty.pids()[1])
        files = len(list(app.glob('*/gramex.yaml'))) + 1
        report.append('## 3. Config load and memory\n')
        report.append(f'{n} routes in {files} files. Targets: `apachectl -t` under 1 s; a child '
                      'process under 30 MB more than an empty Apache.\n')
        report.append('| measure | mod_gramex | empty Apache | difference |')
        report.append('|---|---|---|---|')
        report.append(f'| apache2 -t (median of {args.rounds}) | {statistics.median(times):.3f} s | '
                      f'{statistics.median(empty_t):.3f} s | '
                      f'{statistics.median(times) - statistics.median(empty_t):.3f} s |')
        report.append(f'| child RSS | {g_rss / 1024:.1f} MB | {e_rss / 1024:.1f} MB | '
                      f'{(g_rss - e_rss) / 1024:.1f} MB |')
        report.append('')
        print('\n'.join(report[-4:]), flush=True)
    finally:
        g.stop()
        empty.stop()
        shutil.rmtree(app, ignore_errors=True)


def machine():
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines()
                if l.startswith('model name')), platform.processor())
    apache = subprocess.run([APACHE, '-v'], capture_output=True, text=True).stdout.splitlines()[0]
    nginx = subprocess.run([NGINX, '-v'], capture_output=True, text=True).stderr.strip()
    wrkv = subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.splitlines()
    return [f'- CPU: {cpu}, {os.cpu_count()} cores; {platform.platform()}',
            f'- {apache}; {nginx}; {wrkv[0] if wrkv else "wrk"}',
            f'- date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}']


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--seconds', type=int, default=3, help='length of one wrk run')
    ap.add_argument('--rounds', type=int, default=3, help='interleaved rounds (>= 3)')
    ap.add_argument('--conns', type=int, nargs='+', default=[1, 16, 64])
    ap.add_argument('--routes', type=int, nargs='+', default=[1, 100, 1000, 10000])
    ap.add_argument('--route-conns', type=int, default=16)
    ap.add_argument('--load-routes', type=int, default=10000)
    ap.add_argument('--only', choices=['static', 'routes', 'load', 'proxy', 'gramex', 'ws'],
                    action='append')
    ap.add_argument('--out', default=str(REPO / 'bench' / 'RESULTS.md'))
    args = ap.parse_args()
    args.rounds = max(3, args.rounds)
    report = ['# mod_gramex benchmark results\n', 'Made by `./apxs-build.sh bench` '
              '(bench/bench.py). Medians of interleaved rounds; ratios against plain Apache.\n']
    report += machine() + ['']
    only = set(args.only or ['static', 'routes', 'load', 'proxy', 'gramex', 'ws'])
    if 'static' in only:
        bench_static(args, report)
    if 'routes' in only:
        bench_routes(args, report)
    if 'load' in only:
        bench_load(args, report)
    if 'proxy' in only:
        proxy = REPO / 'bench' / 'bench_proxy.py'
        if proxy.exists():
            out = subprocess.run([sys.executable, str(proxy), '--seconds', str(args.seconds),
                                  '--rounds', str(args.rounds)], capture_output=True, text=True)
            report.append(out.stdout)
            if out.returncode:
                report.append(f'(proxy benchmark failed: {out.stderr.strip()[-500:]})\n')
    if 'gramex' in only:
        # real Gramex direct vs behind Apache; says "Skipped" without GRAMEX_SRC
        out = subprocess.run([sys.executable, str(REPO / 'bench' / 'bench_gramex.py'),
                              '--seconds', str(args.seconds), '--rounds', str(args.rounds)],
                             capture_output=True, text=True)
        report.append(out.stdout)
        if out.returncode:
            report.append(f'(Gramex benchmark failed: {out.stderr.strip()[-500:]})\n')
    if 'ws' in only:
        # idle WebSockets held: ProxyPass ws://, mod_gramex_ws async, nginx
        out = subprocess.run([sys.executable, str(REPO / 'bench' / 'bench_ws.py'),
                              '--rounds', str(args.rounds)], capture_output=True, text=True)
        report.append(out.stdout)
        if out.returncode:
            report.append(f'(WebSocket benchmark failed: {out.stderr.strip()[-500:]})\n')
    Path(args.out).write_text('\n'.join(report) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
