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
            'random_body': random_body, 'diffs': diffs,
            'apache_body': a['body'][:200].decode('utf-8', 'replace'),
            'gramex_body': g1['body'][:400].decode('utf-8', 'replace')}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--guide', help='app directory (default: $GRAMEX_GUIDE or /work/ext/gramex-guide)')
    ap.add_argument('--gramex-src', default=os.environ.get('GRAMEX_SRC'))
    ap.add_argument('--limit', type=int, default=0, help='only the first N URLs')
    ap.add_argument('--only', help='only URLs matching this regex')
    ap.add_argument('--json', help='write every result here')
    ap.add_argument('--workers', type=int, default=4)
    ap.add_argument('--report', help='only print the report of an earlier --json file')
    a = ap.parse_args()

    if a.gramex_src:
        load_error_templates(a.gramex_src)
    if a.report:
        report(json.loads(Path(a.report).read_text()), '')
        return 0
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

    # stopped early: still stop both servers (finally: below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
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


APACHE_ERROR_DOC = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"'

# Why an answer differs, first match wins: (name, deliberate?, test on a result). Deliberate
# differences are the ones docs/decisions.md lists; the rest are work to do (issue 9 items).
CAUSES = [
    ('config file never served (decisions.md: dotfiles, gramex*.yaml, loaded config files)',
     True, lambda r: r['apache_status'] == 403 and r['gramex_status'] == 200
     and re.search(r'(^|/)(\.[^/]*|[^/]*gramex[^/]*\.yaml)$', r['path'])),
    ('config file never served: a url whose path is a loaded config file', True,
     lambda r: r['apache_status'] == 403 and r['gramex_status'] == 200
     and r['gramex_body'].startswith('# This is the base configuration file')),
    ("Gramex's default error template, which needs Tornado (decisions.md: base layer)", True,
     lambda r: r['apache_status'] == r['gramex_status'] and gramex_default_error(r)),
    ('traversal refused (decisions.md: one canonical path, dots resolved)', True,
     lambda r: r['apache_status'] == 400 and '%2e%2e' in r['path'].lower()),
    ('503: needs GramexUpstream although it is set (issue 9 item 1)', False,
     lambda r: r['apache_status'] == 503 and 'needs a Gramex process' in r['apache_body']),
    ('WebSocket 400 text: stray quote, iso-8859-1 (issue 9 item 4)', False,
     lambda r: r['apache_body'].startswith('"Can "Upgrade"')),
    ("error page: httpd's own, not Gramex's (issue 9 item 4)", False,
     lambda r: r['apache_status'] == r['gramex_status'] and r['apache_status'] >= 400
     and r['apache_body'].startswith(APACHE_ERROR_DOC)),
    ('directory listing: only entries the route serves, escaped (decisions.md)', True,
     lambda r: r['kind'] == 'directory' and r['apache_status'] == r['gramex_status'] == 200),
    ("Content-Type: no Python mimetypes entry: Gramex sends Tornado's text/html, we Apache's "
     "type (decisions.md: rendering a data file as HTML is the unsafe choice)", True,
     lambda r: [f for f, _, _ in r['diffs']] == ['Content-Type']),
    ('path with //: merged in the canonical path (decisions.md)', True,
     lambda r: '//' in r['path']),
]


# Gramex's own error templates ($GRAMEXPATH/handlers/NNN.html, base gramex.yaml), up to
# their first template expression; set by main()
ERROR_TEMPLATES = {}


def load_error_templates(gramex_src):
    for f in (Path(gramex_src) / 'gramex' / 'handlers').glob('[45]??.html'):
        ERROR_TEMPLATES[int(f.stem)] = f.read_text().split('{{')[0].split('{%')[0][:300]


def gramex_default_error(r):
    """Tornado's template compresses whitespace: compare the first 150 other characters."""
    head = ERROR_TEMPLATES.get(r['gramex_status'])
    squash = lambda t: re.sub(r'\s+', '', t)[:150]  # noqa: E731
    return bool(head) and squash(r['gramex_body']) == squash(head)


def cause_of(r):
    for name, deliberate, test in CAUSES:
        try:
            if test(r):
                return name, deliberate
        except (TypeError, KeyError):
            pass
    return 'unexplained', False


def report(results, errlog):
    same = [r for r in results if not r['diffs']]
    differ = [r for r in results if r['diffs']]
    groups = {}
    for r in differ:
        r['cause'], r['deliberate'] = cause_of(r)
        groups.setdefault(r['cause'], []).append(r)
    print(f'\nEvery difference ({len(differ)} URLs):')
    print(f'{"URL":50} {"kind":12} {"cause":40} {"field":14} {"Gramex":32} Apache')
    for r in sorted(differ, key=lambda r: (r['cause'], r['path'])):
        for i, (f, g, av) in enumerate(r['diffs']):
            first = not i
            print(f'{r["path"][:50] if first else "":50} {r["kind"][:12] if first else "":12} '
                  f'{r["cause"][:40] if first else "":40} {f:14} {g[:32]:32} {av[:50]}')
    print('\nDifferences by cause:')
    print(f'{"URLs":>5}  {"deliberate":10}  {"cause":70} example')
    for cause, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f'{len(rs):5}  {"yes" if rs[0]["deliberate"] else "no":10}  {cause:70} {rs[0]["path"]}')
    print(f'Random bodies (Gramex twice differs, body not compared): '
          f'{sum(r["random_body"] for r in results)}')
    gx_lines = [ln for ln in errlog.splitlines() if 'gramex' in ln and ('warn' in ln or 'error' in ln)]
    if gx_lines:
        print(f'Apache warnings/errors at startup: {len(gx_lines)}; first: {gx_lines[0][:300]}')
    n = len(results) or 1
    deliberate = sum(1 for r in differ if r['deliberate'])
    print(f'\n{len(same)} of {len(results)} URLs answer as Gramex alone does: '
          f'{100.0 * len(same) / n:.1f}%; with the {deliberate} deliberate differences: '
          f'{100.0 * (len(same) + deliberate) / n:.1f}%')


if __name__ == '__main__':
    sys.exit(main())
