"""httpd.exe for Windows (mingw build) under Wine, serving the demo app with
the Windows builds of mod_gramex and mod_gramex_ws, and an app with secrets
through mod_gramex_secrets. Real HTTP requests from this (Linux) side;
`./apxs-build.sh wintest` runs it after building:
  GX_WIN_HTTPD    the httpd tree (bin/httpd.exe, modules/, conf/mime.types)
  GX_WIN_MODULES  the directory with mod_gramex.so, mod_gramex_ws.so and
                  mod_gramex_secrets.so
  GX_WIN_CLIS     the directory with gramex-secrets.exe
Wine shows the Linux file system as drive Z:, so every path httpd sees is
Z:/..., a Windows path with a drive letter."""
import asyncio
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import websockets

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'live'))
from gxbackends import Backend, BlobServer  # noqa: E402  (the live tests' upstreams)

HTTPD = Path(os.environ.get('GX_WIN_HTTPD', '/var/cache/gramex-wintest/httpd'))
MODULES = Path(os.environ.get('GX_WIN_MODULES', REPO / 'build' / 'win-httpd'))
CLIS = Path(os.environ.get('GX_WIN_CLIS', REPO / 'build' / 'win'))
# Wine starts httpd.exe, which starts its child process (winnt MPM); both
# read the config. On 2 busy cores this has taken up to 2 minutes.
START_TIMEOUT = 300
STOP_TIMEOUT = 60
HTTP_TIMEOUT = 60


def win(path):
    """The Windows name Wine gives a Linux path: Z:/tmp/..."""
    return 'Z:' + str(path)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1):
            return True
    except OSError:
        return False


def our_pids(marker):
    """Linux pids of processes whose command line names our private directory
    (the winnt MPM's child: Wine starts it detached from the parent's pid)."""
    pids = []
    for d in Path('/proc').iterdir():
        if d.name.isdigit():
            try:
                if marker in (d / 'cmdline').read_bytes().decode(errors='replace'):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


class WineHttpd:
    """httpd.exe under Wine with our modules, serving a copy of APP (a
    directory) as its GramexConfig."""

    def __init__(self, app=REPO / 'demo', secrets=False, log_level='warn gramex:info'):
        self.dir = Path(tempfile.mkdtemp(prefix='gxwine-httpd-'))
        self.app = self.dir / 'app'
        shutil.copytree(app, self.app)
        (self.dir / 'logs').mkdir()
        self.port = free_port()
        self.errlog = self.dir / 'logs' / 'error.log'
        self.conf = self.dir / 'httpd.conf'
        mods = [f'LoadModule {m}_module {win(HTTPD)}/modules/mod_{m}.so'
                for m in ['authz_core', 'mime', 'headers', 'log_config', 'proxy', 'proxy_http',
                          'proxy_wstunnel']]
        ours = ['gramex', 'gramex_ws'] + (['gramex_secrets'] if secrets else [])
        self.conf.write_text('\n'.join(mods + [
            f'LoadModule {m}_module {win(MODULES)}/mod_{m}.so' for m in ours] + [
            f'ServerRoot "{win(self.dir)}"',
            f'Listen 127.0.0.1:{self.port}',
            'ServerName 127.0.0.1',
            'PidFile logs/httpd.pid',
            'ErrorLog logs/error.log',
            f'LogLevel {log_level}',
            f'TypesConfig "{win(HTTPD)}/conf/mime.types"',
            '<Directory />', '  Require all denied', '  AllowOverride None', '</Directory>',
            f'GramexPath "{win(REPO)}/conf"',
            f'GramexConfig "{win(self.app)}/gramex.yaml"',
            '<Location /gramex-status>', '  SetHandler gramex-status', '  Require all granted',
            '</Location>', '']))
        self.proc = None

    def start(self):
        env = dict(os.environ, WINEDEBUG=os.environ.get('WINEDEBUG', '-all'))
        self.out = open(self.dir / 'wine.out', 'wb')
        self.proc = subprocess.Popen(['wine', f'{HTTPD}/bin/httpd.exe', '-f', win(self.conf)],
                                     cwd=self.dir, env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f'httpd.exe exited with {self.proc.returncode}:\n{self.log()}')
            # the parent listens at once; its child (which serves) starts later
            if self.child_started() and answers(self.port):
                return self
            time.sleep(1)
        pytest.fail(f'httpd.exe did not answer on port {self.port} in {START_TIMEOUT}s:\n{self.log()}')

    def child_started(self):
        return self.errlog.exists() and 'AH00354: Child: Starting' in self.errlog.read_text(errors='replace')

    def log(self):
        parts = []
        for f in [self.dir / 'wine.out', self.errlog]:
            if f.exists():
                parts.append(f'--- {f.name}\n' + f.read_text(errors='replace'))
        return '\n'.join(parts)

    def stop(self):
        """Ends the parent by its pid; its winnt child notices and exits. A
        child still there after STOP_TIMEOUT is ended by its pid too."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        end = time.monotonic() + STOP_TIMEOUT
        while our_pids(str(self.dir)) and time.monotonic() < end:
            time.sleep(1)
        for pid in our_pids(str(self.dir)):
            os.kill(pid, signal.SIGKILL)
        if self.proc:
            self.out.close()

    def get(self, target):
        """(status, headers, body bytes) for exactly this request-target."""
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=HTTP_TIMEOUT)
        try:
            c.request('GET', target)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


def running(h):
    try:
        yield h.start()
    finally:
        h.stop()
        shutil.rmtree(h.dir, ignore_errors=True)


@pytest.fixture(scope='module')
def httpd():
    for f in [HTTPD / 'bin' / 'httpd.exe', MODULES / 'mod_gramex.so', MODULES / 'mod_gramex_ws.so']:
        assert f.exists(), f'{f} is missing: run ./apxs-build.sh wintest'
    yield from running(WineHttpd())


DEMO = REPO / 'demo'


def test_home_page_exact(httpd):
    status, headers, body = httpd.get('/')
    assert status == 200
    assert body == (DEMO / 'index.html').read_bytes()
    assert headers['x-demo'] == 'home'
    assert headers['content-type'] == 'text/html; charset=UTF-8'


@pytest.mark.parametrize('path,file', [('/static/app.js', 'static/app.js'),
                                       ('/people/static/hr.css', 'hr/static/hr.css'),
                                       ('/sales/', 'sales/index.html')])
def test_files_exact(httpd, path, file):
    status, _, body = httpd.get(path)
    assert status == 200
    assert body == (DEMO / file).read_bytes()


def secret_texts():
    """Contents of every file the demo must never serve."""
    names = ['static/.env', 'static/secret.yaml', 'static/notes.py', 'gramex.yaml',
             'sales/gramex.yaml', 'hr/gramex.yaml']
    return [(DEMO / n).read_bytes() for n in names]


def leaks(body):
    return [t for t in secret_texts() if t.strip() and t.strip()[:20] in body]


@pytest.mark.parametrize('path', ['/static/.env', '/static/secret.yaml', '/static/notes.py',
                                  '/gramex.yaml', '/sales/gramex.yaml', '/hr/gramex.yaml'])
def test_denied(httpd, path):
    status, _, body = httpd.get(path)
    assert status == 403
    assert not leaks(body)


# Names Windows resolves to the same file (trailing dot or space, the default
# data stream, another case) or to a device: none may serve a protected file.
@pytest.mark.parametrize('path', [
    '/gramex.yaml.', '/gramex.yaml%20', '/gramex.yaml::$DATA', '/gramex.yaml:$DATA',
    '/GRAMEX.YAML', '/Gramex.Yaml', '/sales/GRAMEX.YAML', '/Sales/gramex.yaml',
    '/static/SECRET.YAML', '/STATIC/secret.yaml', '/static/secret.yaml.', '/static/secret.yaml...',
    '/static/secret.yaml::$DATA', '/static/.ENV', '/static/.env.',
    '/NUL', '/static/NUL', '/static/nul.txt', '/static/con', '/static/COM1', '/static/aux.js'])
def test_windows_aliases(httpd, path):
    status, _, body = httpd.get(path)
    assert status == 403, (path, status, body[:200])
    assert not leaks(body)


def test_missing_file_gets_the_apps_404_page(httpd):
    status, _, body = httpd.get('/static/missing.html')
    assert status == 404
    assert body == (DEMO / '404.html').read_bytes()


def test_status_page(httpd):
    status, headers, body = httpd.get('/gramex-status?json')
    assert status == 200
    data = json.loads(body)
    assert data['port'] == httpd.port
    app = data['apps'][0]
    # one path form inside: / separators, drive letter kept
    assert app['yaml'] == f'{win(httpd.app)}/gramex.yaml'
    line = httpd.conf.read_text().splitlines().index(f'GramexConfig "{win(httpd.app)}/gramex.yaml"') + 1
    assert app['source'] == f'GramexConfig at {win(httpd.conf)}:{line}'
    routes = {r['name']: r for r in app['routes']}
    assert routes['static']['goes_to'] == f'files under {win(httpd.app)}/static'
    assert routes['hr-static']['goes_to'] == f'files under {win(httpd.app)}/hr/static'
    status, _, html = httpd.get('/gramex-status')
    assert status == 200
    assert f'<code>{win(httpd.app)}/gramex.yaml</code>'.encode() in html


def test_no_errors_logged(httpd):
    text = httpd.errlog.read_text(errors='replace')
    assert '[gramex:error]' not in text and ':emerg]' not in text, text


# ---- mod_gramex_secrets -------------------------------------------------------

SECRET_VALUES = ['hunter2-very-secret', 'remote-tok-777', 'k3y']
SECRETS_APP_YAML = """
url:
  page:
    pattern: /$YAMLURL/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/
      allow: ["*.yaml", "*.html", "*.cache"]
      headers:
        X-Db: $DB_PASSWORD
        X-Remote: $REMOTE_TOKEN
"""


def gramex_secrets(*args, stdin=''):
    """gramex-secrets.exe under Wine."""
    out = subprocess.run(['wine', str(CLIS / 'gramex-secrets.exe'), *args], input=stdin,
                         capture_output=True, text=True, timeout=300)
    return out.returncode, out.stdout.replace('\r\n', '\n'), out.stderr


@pytest.fixture(scope='module')
def secrets_httpd(tmp_path_factory):
    for f in [MODULES / 'mod_gramex_secrets.so', CLIS / 'gramex-secrets.exe']:
        assert f.exists(), f'{f} is missing: run ./apxs-build.sh wintest'
    rc, blob, err = gramex_secrets('encrypt', '--key', 'k3y', stdin='REMOTE_TOKEN: remote-tok-777\n')
    assert rc == 0 and blob.startswith('gxs2.15.8.1.'), err
    server = BlobServer('# remote secrets\n' + blob)
    app = tmp_path_factory.mktemp('secrets-app')
    (app / 'gramex.yaml').write_text(SECRETS_APP_YAML)
    (app / 'index.html').write_text('hi\n')
    (app / '.secrets.yaml').write_text(f'DB_PASSWORD: hunter2-very-secret\n'
                                       f'SECRETS_URL: http://127.0.0.1:{server.port}/blob\n'
                                       f'SECRETS_KEY: k3y\n')
    try:
        yield from running(WineHttpd(app, secrets=True))
    finally:
        server.stop()


def test_gramex_secrets_exe_round_trip(tmp_path):
    rc, blob, err = gramex_secrets('encrypt', '--key', 'k3y', stdin='A: "1"\nB: two words\n')
    assert rc == 0, err
    (tmp_path / 'blob.txt').write_text(blob)
    rc, out, err = gramex_secrets('decrypt', '--key', 'k3y', win(tmp_path / 'blob.txt'), '--show')
    assert rc == 0, err
    assert out == 'A: "1"\nB: "two words"\n'
    rc, out, err = gramex_secrets('decrypt', '--key', 'wrong', win(tmp_path / 'blob.txt'))
    assert rc == 1 and out == ''
    assert err.startswith('gramex-secrets: ')


def test_secret_values_are_used(secrets_httpd):
    status, headers, body = secrets_httpd.get('/index.html')
    assert (status, body) == (200, b'hi\n')
    assert headers['x-db'] == 'hunter2-very-secret'
    assert headers['x-remote'] == 'remote-tok-777'


# The secrets file and its cache in every spelling Windows maps to them: never
# served, whatever allow: says.
@pytest.mark.parametrize('path', [
    '/.secrets.yaml', '/.SECRETS.YAML', '/.secrets.yaml.', '/.secrets.yaml%20',
    '/.secrets.yaml::$DATA', '/%2esecrets.yaml', '/x/../.secrets.yaml', '/.secrets.cache',
    '/gramex.yaml', '/GRAMEX.yaml.'])
def test_secrets_never_served(secrets_httpd, path):
    status, _, body = secrets_httpd.get(path)
    assert status in (400, 403, 404), (path, status)
    for value in SECRET_VALUES:
        assert value.encode() not in body


def test_secrets_never_shown_or_logged(secrets_httpd):
    pages = secrets_httpd.get('/gramex-status?json')[2] + secrets_httpd.get('/gramex-status')[2]
    log = secrets_httpd.errlog.read_bytes()
    for value in SECRET_VALUES:
        assert value.encode() not in pages
        assert value.encode() not in log
    assert b'[gramex:error]' not in log and b':emerg]' not in log, log


def test_secrets_cache_is_outside_the_app(secrets_httpd):
    """The SECRETS_URL cache is in DefaultRuntimeDir (logs/ under ServerRoot on
    Windows), named by the SHA-256 of the secrets file's path, encrypted."""
    name = hashlib.sha256(f'{win(secrets_httpd.app)}/.secrets.yaml'.encode()).hexdigest()[:32]
    caches = list((secrets_httpd.dir / 'logs' / 'gramex-secrets').iterdir())
    assert [c.name for c in caches] == [f'{name}.secrets.cache']
    assert b'remote-tok-777' not in caches[0].read_bytes()
    assert not (secrets_httpd.app / '.secrets.cache').exists()


# ---- WebSockets through mod_gramex_ws ---------------------------------------

WS_APP_YAML = """
url:
  chat:
    pattern: /chat
    handler: ProxyHandler
    kwargs: {{url: "ws://127.0.0.1:{port}/ws"}}
  page:
    pattern: /page
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{port}/page"}}
"""


@pytest.fixture(scope='module')
def ws_httpd(tmp_path_factory):
    backend = Backend()         # the live tests' Tornado echo server, on Linux
    app = tmp_path_factory.mktemp('ws-app')
    (app / 'gramex.yaml').write_text(WS_APP_YAML.format(port=backend.port))
    try:
        yield from running(WineHttpd(app, log_level='warn gramex:info gramex_ws:info'))
    finally:
        backend.stop()


def test_websocket_echo_through_windows_httpd(ws_httpd):
    """The winnt MPM has no asynchronous tunnels: mod_gramex_ws hands the
    upgrade to mod_proxy_http's tunnel, and says so."""
    big = bytes(range(256)) * 1024

    async def go():
        async with websockets.connect(f'ws://127.0.0.1:{ws_httpd.port}/chat', max_size=None,
                                      open_timeout=HTTP_TIMEOUT) as ws:
            out = []
            for m in ['hello', big, 'é' * 20000]:
                await ws.send(m)
                out.append(await asyncio.wait_for(ws.recv(), HTTP_TIMEOUT))
            return out
    assert asyncio.run(go()) == ['hello', big, 'é' * 20000]
    log = ws_httpd.errlog.read_text(errors='replace')
    assert "use mod_proxy_http's tunnel" in log, log
    status, _, body = ws_httpd.get('/gramex-status?json')
    assert status == 200
    assert json.loads(body)['websockets']['module'] is True
