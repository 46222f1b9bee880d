#!/usr/bin/python3
"""Serve a Gramex app (the Gramex guide by default) by real Gramex alone, and by Apache with
our modules in front of that same Gramex; request every url, page, static file and refused
file from both, and print where Apache's answer differs from Gramex's (issue 9 item 8).

    GRAMEX_SRC=/work/ext/gramex GRAMEX_GUIDE=/work/ext/gramex-guide \\
        /usr/bin/python3 tests/gramex/compare.py [--limit N] [--json out.json] [--only RE]

Apache gets `GramexUpstream` = the Gramex server and `GramexApps` = $GRAMEX_SRC/gramex/apps.
Gramex is fetched twice per URL: a body that differs between those two fetches is random
(timestamps, nonces, xsrf) and its body is not compared. Compared: status, Content-Type,
Location, the security headers, body. Every request carries the same Host header.

Needs: build/ (./apxs-build.sh build), Gramex's Debian packages (see the oracle's README) and
tests/gramex/stubs for what Debian does not package. Without GRAMEX_SRC or the guide it says
SKIPPED and why, and exits 0.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / 'tests' / 'live'))
import gxhttpd  # noqa: E402

STUBS = HERE / 'stubs'
ORACLE_PLACES = [os.environ.get('GRAMEX_ORACLE', ''), REPO.parent / 'shared/tools/gramex-oracle',
                 '/work/shared/tools/gramex-oracle']
GUIDE_PLACES = [os.environ.get('GRAMEX_GUIDE', ''), '/work/ext/gramex-guide']
HOST = '127.0.0.1'
SECURITY_HEADERS = ['X-Content-Type-Options', 'X-Frame-Options', 'X-XSS-Protection',
                    'Strict-Transport-Security', 'Content-Security-Policy', 'Referrer-Policy',
                    'Cross-Origin-Opener-Policy', 'Cross-Origin-Resource-Policy']
FIELDS = ['status', 'Content-Type', 'Location'] + SECURITY_HEADERS + ['body']
SKIP_DIRS = {'.git', 'node_modules', '__pycache__'}
REFUSED = ['/.env', '/.secrets.yaml', '/gramex.yaml', '/.git/config', '/no-such-page',
           '/no/such/dir/', '/%2e%2e/etc/passwd']
REQUEST_TIMEOUT = 30
GRAMEX_START_TIMEOUT = 180


def first_dir(places, must_have):
    for p in places:
        if p and (Path(p) / must_have).exists():
            return Path(p).resolve()
    return None


# ---- the URL list -------------------------------------------------------------------------

def sample_paths(regex):
    """Paths that fully match a url's regex: each group filled with '', 'x' or '1'."""
    body = regex.rstrip('$').lstrip('^')
    parts, depth, start, groups = [], 0, 0, []
    i = 0
    while i < len(body):
        c = body[i]
        if c == '\\':
            i += 2
            continue
        if c == '(':
            if depth == 0:
                parts.append(body[start:i])
                start = i
            depth += 1
        elif c == ')':
            depth -= 1
            if depth == 0:
                end = i + 1
                while end < len(body) and body[end] in '?*+':
                    end += 1
                groups.append(body[start:end])
                parts.append(None)
                start = end
                i = end - 1
        i += 1
    parts.append(body[start:])
    literal = [re.sub(r'\\(.)', r'\1', p) if p is not None else None for p in parts]
    if any(p is not None and re.search(r'[\[\]*+?|{}]', p) for p in literal):
        return []
    out = []
    for fill in ['', 'x', '1', 'x/']:
        path = ''.join(fill if p is None else p for p in literal)
        try:
            if re.fullmatch(regex.rstrip('$'), path):
                out.append(path)
        except re.error:
            return []
    return out[:2]


def url_list(guide, table):
    urls = {}
    for u in table:
        for path in sample_paths(u['regex']):
            urls.setdefault(path, f'url {u["name"]} ({u["handler"]})')
    for dirpath, dirnames, filenames in os.walk(guide):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        rel = os.path.relpath(dirpath, guide)
        base = '/' if rel == '.' else '/' + urllib.parse.quote(rel) + '/'
        urls.setdefault(base, 'directory')
        for name in sorted(filenames):
            kind = 'refused file' if name.startswith('.') else 'page' if name.endswith('.md') \
                else 'file'
            urls.setdefault(base + urllib.parse.quote(name), kind)
    for path in REFUSED:
        urls.setdefault(path, 'refused file')
    return urls


# ---- servers ------------------------------------------------------------------------------

def answers(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_gramex(oracle, gramex_src, app, port, home, log):
    env = dict(os.environ, HOME=str(home), GRAMEX_SRC=str(gramex_src),
               PYTHONPATH=os.pathsep.join([str(STUBS), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.Popen(['/usr/bin/python3', str(oracle / 'gramex_serve.py'), str(app),
                             '--port', str(port)], cwd=app, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    end = time.time() + GRAMEX_START_TIMEOUT
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f'Gramex exited with {proc.returncode}; see {log.name}')
        if answers(port):
            return proc
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f'Gramex did not answer on {port} in {GRAMEX_START_TIMEOUT}s')


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def oracle_table(oracle, gramex_src, app, home):
    env = {'HOME': str(home), 'PATH': '/usr/bin:/bin', 'GRAMEX_SRC': str(gramex_src),
           'PYTHONPATH': str(STUBS)}
    out = subprocess.run(['/usr/bin/python3', str(oracle / 'gramex_oracle.py'), str(app)],
                         cwd=app, env=env, capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f'gramex_oracle.py failed:\n{out.stderr[-2000:]}')
    return json.loads(out.stdout)['url_table']


def apache_for(app, upstream_port, gramex_src):
    body = '\n'.join([
        f'GramexApps "{gramex_src}/gramex/apps"',
        f'GramexUpstream http://{HOST}:{upstream_port}',
        f'GramexConfig "{app}/gramex.yaml"',
        'ProxyTimeout 60',
    ])
    return gxhttpd.Httpd(body, extra_modules=['socache_shmcb', 'ssl'])


# ---- fetching and comparing ---------------------------------------------------------------

def fetch(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.putrequest('GET', path, skip_host=True, skip_accept_encoding=True)
        conn.putheader('Host', HOST)
        conn.putheader('Accept-Encoding', 'identity')
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        out = {'status': r.status, 'body': body}
        for h in FIELDS[1:-1]:
            out[h] = r.getheader(h)
        return out
    except (OSError, http.client.HTTPException) as e:
        return {'status': f'error: {type(e).__name__}', 'body': b''}
    finally:
        conn.close()


def short(v, n=60):
    if isinstance(v, bytes):
        return f'{len(v)} bytes: ' + repr(v[:n])[2:-1]
    return str(v)


def compare_one(gport, aport, path):
    g1, a, g2 = fetch(gport, path), fetch(aport, path), fetch(gport, path)
    diffs = []
    for f in FIELDS:
        if f == 'body' and g1['body'] != g2['body']:
            continue                    # Gramex's own body varies: random, not compared
        if g1.get(f) != a.get(f) and g1.get(f) == g2.get(f):
            diffs.append((f, short(g1.get(f)), short(a.get(f))))
    random_body = g1['body'] != g2['body']
    return {'path': path, 'gramex_status': g1['status'], 'apache_status': a['status'],
            'random_body': random_body, 'diffs': diffs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--guide', help='app directory (default: $GRAMEX_GUIDE or /work/ext/gramex-guide)')
    ap.add_argument('--gramex-src', default=os.environ.get('GRAMEX_SRC'))
    ap.add_argument('--limit', type=int, default=0, help='only the first N URLs')
    ap.add_argument('--only', help='only URLs matching this regex')
    ap.add_argument('--json', help='write every result here')
    ap.add_argument('--workers', type=int, default=4)
    a = ap.parse_args()

    oracle = first_dir(ORACLE_PLACES, 'gramex_serve.py')
    guide = Path(a.guide).resolve() if a.guide else first_dir(GUIDE_PLACES, 'gramex.yaml')
    src = Path(a.gramex_src).resolve() if a.gramex_src else None
    missing = [why for ok, why in [
        (src and (src / 'gramex' / 'apps').is_dir(), 'GRAMEX_SRC (a clone of gramener/gramex)'),
        (guide and (guide / 'gramex.yaml').is_file(), 'the guide (GRAMEX_GUIDE, a clone of '
                                                      'gramener/gramex-guide)'),
        (oracle, 'the gramex-oracle tools (GRAMEX_ORACLE)'),
        ((REPO / 'build' / 'mod_gramex.so').exists(), 'build/mod_gramex.so (./apxs-build.sh build)'),
    ] if not ok]
    if missing:
        print('SKIPPED: the Gramex comparison needs ' + '; '.join(missing))
        return 0

    work = gxhttpd.readable_tmpdir('gx-compare-')
    home = work / 'home'
    home.mkdir()
    print(f'app {guide}\nGramex {src}\nwork dir {work}', flush=True)
    table = oracle_table(oracle, src, guide, home)
    urls = url_list(guide, table)
    paths = [p for p in urls if not a.only or re.search(a.only, p)]
    if a.limit:
        paths = paths[:a.limit]
    gport = gxhttpd.free_port()
    gproc = httpd = None
    with open(work / 'gramex.log', 'w') as log:
        try:
            gproc = start_gramex(oracle, src, guide, gport, home, log)
            httpd = apache_for(guide, gport, src)
            httpd.start()
            print(f'Gramex on {gport}, Apache on {httpd.port}; {len(paths)} URLs', flush=True)
            with concurrent.futures.ThreadPoolExecutor(a.workers) as pool:
                results = list(pool.map(lambda p: compare_one(gport, httpd.port, p), paths))
            errlog = httpd.error_log()
        finally:
            if httpd:
                httpd.stop()
            stop(gproc)
    for r in results:
        r['kind'] = urls[r['path']]
    report(results, errlog)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


def report(results, errlog):
    same = [r for r in results if not r['diffs']]
    differ = [r for r in results if r['diffs']]
    print(f'\n{"URL":60} {"kind":14} {"field":24} {"Gramex":40} Apache')
    for r in sorted(differ, key=lambda r: (r['diffs'][0][0], r['path'])):
        for i, (f, g, av) in enumerate(r['diffs']):
            print(f'{r["path"][:60] if not i else "":60} {r["kind"][:14] if not i else "":14} '
                  f'{f:24} {g[:40]:40} {av[:60]}')
    by_field, by_kind = {}, {}
    for r in differ:
        for f, _, _ in r['diffs']:
            by_field[f] = by_field.get(f, 0) + 1
        k = r['kind'].split(' ')[0]
        by_kind[k] = by_kind.get(k, 0) + 1
    print('\nDifferences by field: ' + ', '.join(f'{k} {v}' for k, v in sorted(by_field.items())))
    print('URLs that differ by kind: ' + ', '.join(f'{k} {v}' for k, v in sorted(by_kind.items())))
    print(f'Random bodies (Gramex twice differs, body not compared): '
          f'{sum(r["random_body"] for r in results)}')
    gx_lines = [ln for ln in errlog.splitlines() if 'gramex' in ln and ('warn' in ln or 'error' in ln)]
    if gx_lines:
        print(f'Apache warnings/errors at startup: {len(gx_lines)}; first: {gx_lines[0][:300]}')
    pct = 100.0 * len(same) / len(results) if results else 0
    print(f'\n{len(same)} of {len(results)} URLs answer as Gramex alone does: {pct:.1f}%')


if __name__ == '__main__':
    sys.exit(main())
