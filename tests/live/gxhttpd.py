"""A private Apache httpd for live tests: generated config, free loopback
port, the built modules, stopped by pid. Modelled on httpd's test/pyhttpd."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / 'build'
# GX_TEST_MODULES=DIR: load the modules from DIR (e.g. built with ASan); with
# GX_ASAN_LOG_DIR set, httpd runs with libasan preloaded and reports go there.
MODULE_DIR = Path(os.environ.get('GX_TEST_MODULES', BUILD)).resolve()
MODULES = Path('/usr/lib/apache2/modules')
APACHE = '/usr/sbin/apache2'
START_TIMEOUT = 15      # seconds for httpd to answer after start
STOP_TIMEOUT = 10

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


class Httpd:
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

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def write(self, body):
        self.conf.write_text(self.head + '\n' + body + '\n')

    def check(self):
        """apache2 -t: (returncode, stdout+stderr)"""
        out = subprocess.run([APACHE, '-t', '-f', str(self.conf)], capture_output=True, text=True,
                             env=httpd_env())
        return out.returncode, out.stdout + out.stderr

    def _answers(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self):
        rc, out = self.check()
        assert rc == 0, f'apache2 -t failed:\n{out}'
        subprocess.run([APACHE, '-f', str(self.conf), '-k', 'start'], check=True, env=httpd_env(),
                       capture_output=True)
        end = time.time() + START_TIMEOUT
        while time.time() < end:
            # the port accepts before post_config has logged: wait for both
            if self._answers() and 'resuming normal operations' in self.error_log():
                return self
            time.sleep(0.05)
        raise RuntimeError(f'httpd did not answer on {self.port}:\n{self.error_log()}')

    def pid(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def graceful(self):
        """What `apachectl graceful` does: config test first, then signal."""
        rc, out = self.check()
        if rc != 0:
            return rc, out
        generation = self.error_log().count('resuming normal operations')
        os.kill(self.pid(), signal.SIGUSR1)
        end = time.time() + START_TIMEOUT
        while time.time() < end:
            if self.error_log().count('resuming normal operations') > generation:
                time.sleep(0.3)     # old children finish their current request
                return 0, out
            time.sleep(0.05)
        raise RuntimeError('graceful restart did not complete')

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
        while self._answers() and time.time() < end:
            time.sleep(0.05)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def error_log(self):
        try:
            return self.errlog.read_text()
        except OSError:
            return ''


def raw_get(port, target, headers=None):
    """One HTTP/1.1 request with the target sent exactly as given (no client
    normalisation of '..', '%2e', '//'). Returns (status, headers, body)."""
    lines = [f'GET {target} HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close']
    for k, v in (headers or {}).items():
        lines.append(f'{k}: {v}')
    data = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    raw = b''.join(chunks)
    head, _, body = raw.partition(b'\r\n\r\n')
    status_line, *hdr_lines = head.decode('latin-1').split('\r\n')
    hdrs = {}
    for line in hdr_lines:
        k, _, v = line.partition(':')
        hdrs[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), hdrs, body
