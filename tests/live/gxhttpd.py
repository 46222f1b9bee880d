"""A private Apache httpd for live tests: generated config, free loopback
port, the built modules, stopped by pid. Modelled on httpd's test/pyhttpd."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from gxclients import raw_get  # noqa: F401  (test_secrets.py imports it from here)

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / 'build'
# GX_TEST_MODULES=DIR: load the modules from DIR (e.g. built with ASan); with
# GX_ASAN_LOG_DIR set, httpd runs with libasan preloaded and reports go there.
MODULE_DIR = Path(os.environ.get('GX_TEST_MODULES', BUILD)).resolve()
MODULES = Path('/usr/lib/apache2/modules')
APACHE = '/usr/sbin/apache2'
START_TIMEOUT = 15      # seconds for httpd to answer after start
STOP_TIMEOUT = 10

# httpd.conf lines that open the status page to every client (tests only)
STATUS_PAGE = ('<Location /gramex-status>\n  SetHandler gramex-status\n  Require all granted\n'
               '</Location>')
# gramex.yaml of an app with one url, page: /page serves page.html
PAGE_APP = """
url:
  page:
    pattern: /$YAMLURL/page
    handler: FileHandler
    kwargs: {path: $YAMLPATH/page.html}
"""

# one ProxyHandler url; .format(port=...) names its backend
PROXY_APP = """
url:
  api:
    pattern: /$YAMLURL/api/(.*)
    handler: ProxyHandler
    kwargs: {{url: 'http://127.0.0.1:{port}/{{0}}'}}
"""

DEBIAN_MODULES = ['mpm_event', 'authz_core', 'mime', 'headers', 'deflate', 'filter', 'proxy',
                  'proxy_http', 'proxy_wstunnel', 'proxy_balancer', 'slotmem_shm',
                  'lbmethod_byrequests', 'status']


def httpd_env():
    """The environment httpd runs with: libasan preloaded when GX_ASAN_LOG_DIR asks."""
    env = dict(os.environ)
    logs = os.environ.get('GX_ASAN_LOG_DIR')
    if logs:
        lib = subprocess.run(['gcc', '-print-file-name=libasan.so'], capture_output=True,
                             text=True).stdout.strip()
        env['LD_PRELOAD'] = os.path.realpath(lib)
        env['ASAN_OPTIONS'] = f'detect_leaks=0:log_path={logs}/asan:handle_segv=1'
    return env


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_until(check, seconds, step=0.1):
    """True as soon as check() is true; False if it is still false after `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        if check():
            return True
        time.sleep(step)
    return check()


def answers(port):
    """Whether 127.0.0.1:port accepts a connection now."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def apxs_run(app, seconds=60):
    """`./apxs-build.sh run APP --port P`, whose httpd runs in the foreground as
    our child: yields its port once it accepts; stopped by its pid (SIGTERM)."""
    port = free_port()
    proc = subprocess.Popen([str(REPO / 'apxs-build.sh'), 'run', str(app), '--port', str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        end = time.time() + seconds
        while not answers(port):
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < end, f'apxs-build.sh run did not answer on {port}'
            time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def readable_tmpdir(prefix):
    """A temp dir www-data can read (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


def readable_copy(src, prefix):
    """A copy of directory src that www-data can read, wherever the checkout
    lives; returns the copy's path (inside a fresh temp dir)."""
    dst = readable_tmpdir(prefix) / Path(src).name
    shutil.copytree(src, dst)
    for d, _, names in os.walk(dst):
        os.chmod(d, 0o755)
        for n in names:
            os.chmod(os.path.join(d, n), 0o644)
    return dst


def write_tree(root, files):
    """files: {relpath: text or bytes}; dirs and files readable by www-data."""
    root = Path(root)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in [path.parent, *path.parent.parents]:
            if parent == root.parent:
                break
            parent.chmod(0o755)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        path.chmod(0o644)
    return root


@contextlib.contextmanager
def serving(body, *remove, **kw):
    """A started Httpd(body, **kw) for a module-scoped fixture; stopped and
    removed after, with the directories in `remove`."""
    h = Httpd(body, **kw)
    try:
        yield h.start()
    finally:
        h.cleanup()
        for d in remove:
            shutil.rmtree(d, ignore_errors=True)


class Apache:
    """A private httpd's controls, by its pid and its error log, for Httpd
    here and debian_tree.DebianTree: subclasses set port, pidfile and errlog,
    and define check() (apache2 -t) and launch() (apache2 -k start)."""

    def start(self):
        """Config test, launch, and wait until the server answers."""
        rc, out = self.check()
        assert rc == 0, f'apache2 -t failed:\n{out}'
        before = self.generations()
        self.launch()
        return self.wait_generation(before, restart=False)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def error_log(self):
        try:
            return self.errlog.read_text()
        except OSError:
            return ''

    def logged(self, text, seconds=10):
        """Whether text is in the error log within `seconds`: some lines (the
        access-log phase's) are written after the client has its answer."""
        return wait_until(lambda: text in self.error_log(), seconds)

    def pid(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self):
        pid = self.pid()
        if not pid:
            return False
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    def generations(self):
        return self.error_log().count('resuming normal operations')

    def wait_generation(self, before, restart=True):
        """Returns self once a generation after `before` logs that it runs and
        the port accepts (it accepts before post_config has logged). restart:
        the parent was running already, so it must stay alive."""
        end = time.time() + START_TIMEOUT
        while time.time() < end:
            if self.generations() > before and answers(self.port):
                if restart:
                    time.sleep(0.3)     # old children finish their current request
                return self
            if restart and not self.alive():
                raise RuntimeError(f'httpd exited:\n{self.error_log()}')
            time.sleep(0.05)
        raise RuntimeError(f'httpd did not (re)start on {self.port}:\n{self.error_log()}')

    def graceful(self):
        """What `apachectl graceful` does: config test first, then signal."""
        rc, out = self.check()
        if rc != 0:
            return rc, out
        self.signal_graceful()
        return 0, out

    def signal_graceful(self):
        """SIGUSR1 to the parent with no config test first (as `apache2 -k
        graceful` and logrotate send it); returns once a new generation runs."""
        before = self.generations()
        os.kill(self.pid(), signal.SIGUSR1)
        return self.wait_generation(before)

    def stop(self):
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pid = None
        end = time.time() + STOP_TIMEOUT
        while pid and time.time() < end:
            try:
                os.kill(pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                break
        while answers(self.port) and time.time() < end:
            time.sleep(0.05)


class Httpd(Apache):
    """httpd with a generated config in a temp dir: the module list, loopback
    port, pid file and log there, then `body`."""

    def __init__(self, body='', modules=None, gramex=True, extra_modules=()):
        self.dir = readable_tmpdir('gxtest-httpd-')
        self.port = free_port()
        self.conf = self.dir / 'httpd.conf'
        self.pidfile = self.dir / 'httpd.pid'
        self.errlog = self.dir / 'error.log'
        mods = [f'LoadModule {m}_module {MODULES}/mod_{m}.so'
                for m in (modules or DEBIAN_MODULES) + list(extra_modules)]
        if gramex:
            mods.append(f'LoadModule gramex_module {MODULE_DIR}/mod_gramex.so')
            for name in ['secrets', 'ws']:
                so = MODULE_DIR / f'mod_gramex_{name}.so'
                if so.exists():
                    mods.append(f'LoadModule gramex_{name}_module {so}')
        self.head = '\n'.join(mods + [
            f'ServerRoot "{self.dir}"',
            f'Listen 127.0.0.1:{self.port}',
            'ServerName 127.0.0.1',
            f'PidFile "{self.pidfile}"',
            f'ErrorLog "{self.errlog}"',
            'LogLevel warn gramex:info',
            f'DefaultRuntimeDir "{self.dir}"',
            f'Mutex file:{self.dir} default',
            'User www-data',
            'Group www-data',
            'TypesConfig /etc/mime.types',
            '<Directory />', '  Require all denied', '  AllowOverride None', '</Directory>',
            f'GramexPath "{REPO}/conf"' if gramex else '',
        ])
        self.write(body)

    def write(self, body):
        self.conf.write_text(self.head + '\n' + body + '\n')

    def check(self):
        """apache2 -t: (returncode, stdout+stderr)"""
        out = subprocess.run([APACHE, '-t', '-f', str(self.conf)], capture_output=True, text=True,
                             env=httpd_env())
        return out.returncode, out.stdout + out.stderr

    def launch(self):
        subprocess.run([APACHE, '-f', str(self.conf), '-k', 'start'], check=True, env=httpd_env(),
                       capture_output=True)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

