"""Raw HTTP clients for live tests: the request goes out byte for byte as
written (no client normalises '..', '%2e', '//', '\\' or case, nor adds
headers), and the answer comes back whole, status line and headers included."""
import re
import socket


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

    def leaks(self, markers):
        """The markers found anywhere in the response, headers included (in
        the de-chunked body too: a marker may straddle two chunks)."""
        return [m.decode() for m in markers if m in self.raw or m in self.body]


def listing(html):
    """(href, text) of each entry of a FileHandler `index: true` page, in order."""
    return re.findall(r'<li><a href="([^"]*)">([^<]*)</a></li>', html)


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
    """One request to 127.0.0.1:port whose target (str or bytes) is sent exactly
    as given, with Host: 127.0.0.1 and Connection: close; version=None sends an
    HTTP/0.9 bare request line. Returns a Response."""
    if isinstance(target, str):
        target = target.encode('latin-1')
    if version is None:
        data = f'{method} '.encode() + target + b'\r\n'
    else:
        lines = [f'{method} '.encode() + target + f' {version}'.encode(), b'Host: 127.0.0.1',
                 b'Connection: close']
        for k, v in (headers or {}).items():
            lines.append(f'{k}: {v}'.encode('latin-1'))
        data = b'\r\n'.join(lines) + b'\r\n\r\n'
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        return Response(read_all(s))


def raw_get(port, target, headers=None):
    """raw_request as (status, headers, body)."""
    r = raw_request(port, target, headers=headers)
    return r.status, r.headers, r.body


def read_all(sock, first=b'', reset_ends=False):
    """What sock sends until it closes (after `first`, bytes already read).
    reset_ends: a reset counts as the end (for peers that abort on purpose)."""
    chunks = [first]
    while True:
        try:
            b = sock.recv(65536)
        except ConnectionResetError:
            if not reset_ends:
                raise
            b = b''
        if not b:
            return b''.join(chunks)
        chunks.append(b)


def read_head(sock):
    """Bytes from sock up to and including the blank line that ends a request
    or response head (and whatever came with it), or all it sent before closing."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
