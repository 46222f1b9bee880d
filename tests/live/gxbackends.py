"""Upstreams for live tests, all on 127.0.0.1: a server process started on a
free port (the Tornado echo backend, backend.py, is the usual one) and a
socket server that answers every request with the same bytes."""
import http.server
import signal
import ssl
import socket
import subprocess
import sys
import threading
from pathlib import Path

from gxclients import read_head
from gxhttpd import answers, free_port, wait_until

HERE = Path(__file__).parent
START_TIMEOUT = 10      # seconds for a backend to accept connections


class ServerProcess:
    """argv(port) run on a free port, ready once the port accepts; stopped by
    its pid (SIGTERM). Raises, having stopped it, if it never accepts."""

    def __init__(self, argv, what):
        self.port = free_port()
        self.proc = subprocess.Popen(argv(self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_until(lambda: answers(self.port), START_TIMEOUT, 0.05):
            self.stop()
            raise RuntimeError(f'{what} did not start on port {self.port}')

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


class Backend(ServerProcess):
    """backend.py: echoes each request as JSON (its name in 'backend' and in
    X-Backend), /redirect redirects, /ws and /...ws echo WebSocket messages."""

    def __init__(self, name='backend'):
        super().__init__(lambda port: [sys.executable, str(HERE / 'backend.py'), str(port), name],
                         f'backend {name}')


class CannedBackend:
    """Records each request's head (as bytes, in `requests`) and answers it
    with `answer`, then closes: for answers no real server sends (garbage, a
    refused upgrade) and to see the exact bytes httpd sent upstream."""

    def __init__(self, answer=b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'):
        self.answer = answer
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)       # so that _serve sees `done` soon
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def _serve(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.requests.append(read_head(conn))
                    conn.sendall(self.answer)
                except OSError:
                    pass        # httpd gave up on this one; the test sees what it got

    def header_lines(self, i=-1):
        """The request line and header lines of request i, as bytes."""
        return self.requests[i].split(b'\r\n\r\n')[0].split(b'\r\n')

    def stop(self):
        self.done.set()
        self.thread.join(5)
        self.sock.close()


class BlobServer:
    """A SECRETS_URL: a local HTTP(S) server answering `text` (any path but
    /to/<url>, which redirects there), counting those answers in `hits`."""

    def __init__(self, text, tls=None):
        body = text.encode()
        owner = self
        self.hits = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split('?')[0]
                if path.startswith('/to/'):
                    self.send_response(302)
                    self.send_header('Location', self.path[4:])
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                owner.hits += 1
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.port = self.server.server_address[1]
        scheme = 'http'
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = 'https'
        self.url = f'{scheme}://127.0.0.1:{self.port}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
