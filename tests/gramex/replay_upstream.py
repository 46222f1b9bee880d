"""A Tornado stand-in for Gramex that replays recorded answers (fixture/expected.json).

    replay_upstream.py PORT EXPECTED_JSON LOG

GET of a recorded path answers with Gramex's recorded status, headers and body; the
recorded WebSocket path upgrades and answers each recorded message with Gramex's reply.
Every request it receives is appended to LOG ("GET /path" or "WS /path"), so a test can
tell which requests Apache sent upstream. Listens on 127.0.0.1 only.
"""
import asyncio
import base64
import json
import sys

import tornado.web
import tornado.websocket

PORT, EXPECTED, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(EXPECTED) as f:
    RECORDING = json.load(f)
CASES = {c['path']: c for c in RECORDING['cases']}
WS = RECORDING['websocket']
REPLIES = {x['send']: x['receive'] for x in WS['exchange']}


def log(line):
    with open(LOG, 'a') as f:
        f.write(line + '\n')


def replay(handler):
    log(f'GET {handler.request.uri}')
    case = CASES.get(handler.request.uri)
    if case is None:
        handler.set_status(404)
        handler.set_header('Content-Type', 'text/plain')
        handler.finish(f'not recorded: {handler.request.uri}\n')
        return
    handler.set_status(case['status'])
    handler.clear_header('Content-Type')
    for k, v in case['response_headers']:
        handler.add_header(k, v)
    handler.finish(base64.b64decode(case['base64']) if 'base64' in case
                   else case['text'].encode('utf-8'))


class Replay(tornado.web.RequestHandler):
    def get(self):
        replay(self)

    def compute_etag(self):
        return None             # only the recorded headers


class ReplayWS(tornado.websocket.WebSocketHandler):
    async def get(self, *args, **kwargs):
        if self.request.headers.get('Upgrade', '').lower() != 'websocket':
            return replay(self)
        log(f'WS {self.request.uri}')
        await super().get(*args, **kwargs)

    def compute_etag(self):
        return None

    def check_origin(self, origin):
        return True             # Apache checks origins before it proxies

    def on_message(self, message):
        self.write_message(REPLIES.get(message, f'not recorded: {message}'))


async def main():
    app = tornado.web.Application([(WS['path'], ReplayWS), (r'/.*', Replay)])
    app.listen(PORT, address='127.0.0.1')
    await asyncio.Event().wait()


asyncio.run(main())
