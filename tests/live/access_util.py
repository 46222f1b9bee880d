"""Helpers for the access-control tests (issue 8): a raw HTTP client that sends
the request target byte for byte, the guarded fixture app, a loopback backend."""
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gxhttpd import REPO, free_port, readable_copy

HERE = Path(__file__).parent
FIXTURES = REPO / 'tests' / 'fixtures' / 'access'
GUARDED_APP = FIXTURES / 'guarded-app'
# every marker in guarded-app/: none may ever reach a client except CONTROL
ADMIN_MARKER = b'GX-ADMIN-MARKER-2f9c1e'
MEMBERS_MARKER = b'GX-MEMBERS-MARKER-8d04b7'
BACKTRACK_MARKER = b'GX-BACKTRACK-MARKER-c3d9f0'
CONTROL_MARKER = b'GX-CONTROL-MARKER-55aa01'
SECRETS = (ADMIN_MARKER, MEMBERS_MARKER, BACKTRACK_MARKER)


def guarded_app_copy():
    """A www-data readable copy of guarded-app/ (the checkout may be private)."""
    return readable_copy(GUARDED_APP, 'gxtest-guarded-')


class Response:
    def __init__(self, raw):
        self.raw = raw                              # status line, headers and body
        head, _, self.body = raw.partition(b'\r\n\r\n')
        self.head = head
        lines = head.decode('latin-1').split('\r\n')
        parts = lines[0].split()
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            self.headers[k.strip().lower()] = v.strip()
        if self.headers.get('transfer-encoding', '').lower() == 'chunked':
            self.body = dechunk(self.body)

    def leaks(self, markers=SECRETS):
        """The markers found anywhere in the response, headers included (in
        the de-chunked body too: a marker may straddle two chunks)."""
        return [m.decode() for m in markers if m in self.raw or m in self.body]


def dechunk(data):
    out, pos = [], 0
    while True:
        eol = data.find(b'\r\n', pos)
        if eol < 0:
            return b''.join(out) + data[pos:]       # truncated: keep what came
        try:
            size = int(data[pos:eol].split(b';')[0], 16)
        except ValueError:
            return b''.join(out) + data[pos:]       # not chunked after all: keep it
        if size == 0:
            return b''.join(out)
        out.append(data[eol + 2:eol + 2 + size])
        pos = eol + 2 + size + 2


def raw_request(port, target, method='GET', headers=None, version='HTTP/1.1', timeout=10):
    """One request whose target is sent exactly as given (str or bytes): no
    client normalises '..', '%2e', '//', '\\' or case. Connection: close."""
    if isinstance(target, str):
        target = target.encode('latin-1')
    if version is None:                             # HTTP/0.9: a bare request line
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
            s.sendall(f'{method} '.encode() + target + b'\r\n')
            return Response(read_all(s))
    lines = [f'{method} '.encode() + target + f' {version}'.encode(), b'Host: 127.0.0.1',
             b'Connection: close']
    for k, v in (headers or {}).items():
        lines.append(f'{k}: {v}'.encode('latin-1'))
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(b'\r\n'.join(lines) + b'\r\n\r\n')
        return Response(read_all(s))


def read_all(sock):
    chunks = []
    while True:
        b = sock.recv(65536)
        if not b:
            return b''.join(chunks)
        chunks.append(b)


class Backend:
    """tests/live/backend.py (a Tornado echo server) on a free loopback port."""

    def __init__(self, name='backend'):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(HERE / 'backend.py'), str(self.port),
                                      name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError('backend did not start')

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
