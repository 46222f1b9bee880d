"""Helpers for the asynchronous WebSocket tunnel tests: a one-child event
MPM, raw upgrade requests, scripted backends, /proc totals."""
import hashlib
import base64
import os
import socket
import struct
import threading
import time
from pathlib import Path

from gxbackends import CannedBackend
from gxclients import read_all, read_head

# one child, so that per-child figures (fds, RSS, cap) are the server's
ONE_CHILD = """<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 1
    ThreadLimit 64
    ThreadsPerChild 64
    MaxRequestWorkers 64
    MinSpareThreads 1
    MaxSpareThreads 64
    AsyncRequestWorkerFactor 100
</IfModule>
LimitRequestFields 100"""

KEY = 'dGhlIHNhbXBsZSBub25jZQ=='


def upgrade_request(path, origin=None):
    lines = [f'GET {path} HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket',
             'Connection: Upgrade', f'Sec-WebSocket-Key: {KEY}', 'Sec-WebSocket-Version: 13']
    if origin:
        lines.append(f'Origin: {origin}')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def raw_upgrade(port, path, origin=None, timeout=10):
    """Send an upgrade; return (socket, head bytes, bytes after the head)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    s.sendall(upgrade_request(path, origin))
    head, _, rest = read_head(s).partition(b'\r\n\r\n')
    return s, head, rest


def read_to_close(s, first=b''):
    """All s sends until it closes or resets (a tunnel may end either way)."""
    return read_all(s, first, reset_ends=True)


def masked_frame(payload, opcode=0x2):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack('!BB', 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], 'big')
    body = (int.from_bytes(payload, 'big') ^ key).to_bytes(n, 'big')
    return head + mask + body


# answers every request with the bytes it is given, then closes: non-101
# answers to the upgrade; `requests` holds the request heads it got
ScriptedBackend = CannedBackend


def children(parent):
    out = []
    for d in Path('/proc').iterdir():
        if d.name.isdigit():
            try:
                fields = (d / 'stat').read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                out.append(int(d.name))
    return out


def status_field(pid, name):
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(name + ':'):
            return int(line.split()[1])
    return 0


def totals(parent):
    """(processes, threads, RSS kB, fds of the children) for httpd's tree."""
    pids = [parent] + children(parent)
    threads = rss = fds = 0
    for p in pids:
        try:
            threads += status_field(p, 'Threads')
            rss += status_field(p, 'VmRSS')
            if p != parent:
                fds += len(os.listdir(f'/proc/{p}/fd'))
        except OSError:
            pass
    return len(pids), threads, rss, fds


def accept_key(key=KEY):
    """The Sec-WebSocket-Accept that answers Sec-WebSocket-Key `key` (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
                                         .encode()).digest()).decode()


def _accept_for(request):
    for line in request.split(b'\r\n'):
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'sec-websocket-key':
            return accept_key(v.strip().decode())
    return ''


class StuckBackend:
    """Answers the upgrade with 101, then either floods the client with 1 MiB
    frames until its writes block for 3 s (flood=True), or never reads
    (flood=False). `sent` counts the frames it got out."""

    def __init__(self, flood):
        self.flood = flood
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.done = threading.Event()
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(c)
        data = read_head(c)
        c.sendall(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                   f'Connection: Upgrade\r\nSec-WebSocket-Accept: {_accept_for(data)}\r\n\r\n')
                  .encode())
        if self.flood:
            frame = struct.pack('!BBQ', 0x82, 127, 1 << 20) + b'\x00' * (1 << 20)
            c.settimeout(3)
            try:
                for _ in range(256):
                    c.sendall(frame)
                    self.sent += 1
            except OSError:
                pass
        self.done.set()

    def stop(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def stable_fds(h, bound=60):
    """httpd's children's fd count once it has not changed for a second."""
    last, same = -1, 0
    for _ in range(bound * 4):
        now = totals(h.pid())[3]
        same = same + 1 if now == last else 0
        if same >= 4:
            break
        last = now
        time.sleep(0.25)
    return last


def proxy_yaml(name, port):
    """gramex.yaml with one url, /`name`, proxied to backend.py's /ws on `port`."""
    return f"""
url:
  {name}:
    pattern: /{name}
    handler: ProxyHandler
    kwargs: {{url: "http://127.0.0.1:{port}/ws"}}
"""


# gramex.yaml for GramexUpstream tests: /py/ answers with the backend's name,
# /livews is a WebSocketHandler (its kwargs may be appended)
BALANCED_YAML = """
url:
  py:
    pattern: /py/(.*)
    handler: FunctionHandler
  live:
    pattern: /livews
    handler: WebSocketHandler
"""


# two children from the start, kept: MinSpareThreads needs both children's
# threads idle, so the parent replaces one that dies. Tunnels hold no thread,
# and AsyncRequestWorkerFactor lets each child accept many of them.
TWO_CHILDREN = """<IfModule mpm_event_module>
    StartServers 2
    ServerLimit 2
    ThreadLimit 4
    ThreadsPerChild 4
    MaxRequestWorkers 8
    MinSpareThreads 8
    MaxSpareThreads 8
    AsyncRequestWorkerFactor 100
</IfModule>"""


def _loopback(port):
    return f'0100007F:{port:04X}'       # /proc/net/tcp: the address's bytes as hex, then port


def child_holding(parent, server_port, sock):
    """The pid of httpd's child that holds the server side of client socket
    `sock` (connected to 127.0.0.1:server_port), from /proc; None if none does."""
    want = (_loopback(server_port), _loopback(sock.getsockname()[1]))
    inode = next((f[9] for f in (line.split() for line in
                                 Path('/proc/net/tcp').read_text().splitlines()[1:])
                  if (f[1], f[2]) == want), None)
    for pid in children(parent) if inode else ():
        try:
            if any(os.readlink(f'/proc/{pid}/fd/{fd}') == f'socket:[{inode}]'
                   for fd in os.listdir(f'/proc/{pid}/fd')):
                return pid
        except OSError:
            pass
    return None


def read_exactly(s, n, first=b''):
    data = first
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f'closed after {len(data)} of {n} bytes: {data!r}')
        data += chunk
    return data
