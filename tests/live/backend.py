"""A Tornado backend for proxy tests: echoes what it received, redirects,
WebSocket echo. Usage: backend.py PORT [NAME]. Listens on 127.0.0.1 only."""
import asyncio
import json
import resource
import sys

import tornado.web
import tornado.websocket

# capacity tests hold thousands of connections
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (HARD, HARD))

PORT = int(sys.argv[1])
NAME = sys.argv[2] if len(sys.argv) > 2 else 'backend'


class Echo(tornado.web.RequestHandler):
    def _echo(self):
        self.set_header('Content-Type', 'application/json')
        self.set_header('X-Backend', NAME)
        self.write(json.dumps({
            'backend': NAME, 'method': self.request.method, 'path': self.request.path,
            'query': self.request.query, 'headers': dict(self.request.headers),
            'body_length': len(self.request.body or b''),
        }))

    get = post = put = delete = patch = _echo

    def check_xsrf_cookie(self):
        pass


class Redirect(tornado.web.RequestHandler):
    def get(self):
        self.redirect(f'http://127.0.0.1:{PORT}/target/page?x=1')


class WS(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True     # the proxy checks origins; the backend accepts all

    def on_message(self, message):
        if message == 'whoami':
            self.write_message(f'whoami:{NAME}')
        elif message == 'close-4001':
            self.close(4001, 'asked')
        else:
            self.write_message(message, binary=isinstance(message, bytes))


async def main():
    app = tornado.web.Application([(r'/redirect', Redirect), (r'/ws', WS), (r'/.*ws', WS),
                                   (r'/.*', Echo)], max_body_size=200 * 1024 * 1024)
    app.listen(PORT, address='127.0.0.1', max_body_size=200 * 1024 * 1024)
    await asyncio.Event().wait()


asyncio.run(main())
