#!/usr/bin/python3
"""Record real Gramex's answers for the CI fixture app into fixture/expected.json.

    GRAMEX_SRC=/work/ext/gramex /usr/bin/python3 tests/gramex/record_fixture.py

Runs Gramex 1.94.5 (from GRAMEX_SRC) on fixture/app, with two stand-ins that only this
recording needs: $GRAMEXAPPS is fixture/gramexapps (Gramex always sets it to its own
package's apps/, so the variable is patched after gramex.config is imported), and Dart
Sass (npm, not in Debian) is stubs/sass.js. Then requests every case in CASES (and one
WebSocket exchange) and writes status, headers and body of each. The CI test
(tests/live/test_fixture_app.py) replays these answers from a Tornado stand-in upstream
and checks that Apache's answers equal them. Run it again only when the fixture changes.
"""
import asyncio
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / 'fixture'
EXPECTED = FIXTURE / 'expected.json'
STUBS = HERE / 'stubs'
ORACLE_STUBS = [Path(os.environ.get('GRAMEX_ORACLE', '/nonexistent')) / 'stubs',
                HERE.parents[2] / 'shared/tools/gramex-oracle/stubs',
                Path('/work/shared/tools/gramex-oracle/stubs')]

# path, which side must answer it through Apache (apache: natively; gramex: the upstream;
# either), and the headers the url defines (always compared with Content-Type)
FILES_HEADERS = ['Cache-Control', 'X-Fixture']
CASES = [
    {'path': '/', 'side': 'gramex', 'what': 'md (default_filename)', 'headers': FILES_HEADERS},
    {'path': '/index.md', 'side': 'gramex', 'what': 'md transform', 'headers': FILES_HEADERS},
    {'path': '/hello.html', 'side': 'gramex', 'what': 'template', 'headers': FILES_HEADERS},
    {'path': '/style.scss', 'side': 'gramex', 'what': 'sass', 'headers': FILES_HEADERS},
    {'path': '/logo.png', 'side': 'apache', 'what': 'static beside md', 'headers': FILES_HEADERS},
    {'path': '/data.txt', 'side': 'apache', 'what': 'static text', 'headers': FILES_HEADERS},
    {'path': '/hello.html.source', 'side': 'apache', 'what': 'headers: Content-Type',
     'headers': []},
    {'path': '/ui/static/ui.css', 'side': 'apache', 'what': '$GRAMEXAPPS static',
     'headers': ['Cache-Control']},
    {'path': '/ui/theme/theme.scss', 'side': 'gramex', 'what': '$GRAMEXAPPS sass',
     'headers': []},
    {'path': '/missing/page', 'side': 'apache', 'what': 'error: 404 page', 'headers': []},
    {'path': '/ws', 'side': 'either', 'what': 'WebSocketHandler without Upgrade',
     'headers': []},
]
WS_PATH = '/ws'
WS_MESSAGES = ['hello', 'second message']
# Not replayed: hop-by-hop, per-response, or what the proxy sets itself
NOT_REPLAYED = {'date', 'server', 'content-length', 'transfer-encoding', 'connection',
                'set-cookie'}


def serve():
    """Child process: Gramex on fixture/app, with the two stand-ins."""
    gramex_src, port = sys.argv[2], int(sys.argv[3])
    oracle_stubs = next((str(p) for p in ORACLE_STUBS if p.is_dir()), None)
    sys.path[:0] = [gramex_src, str(STUBS)] + ([oracle_stubs] if oracle_stubs else [])
    os.chdir(FIXTURE / 'app')
    import gramex
    import gramex.config
    # gramex.init() re-reads setup_variables(), which sets GRAMEXAPPS to its own apps/
    setup_variables = gramex.config.setup_variables

    def with_fixture_apps():
        v = setup_variables()
        v['GRAMEXAPPS'] = str(FIXTURE / 'gramexapps')
        return v

    gramex.setup_variables = gramex.config.setup_variables = with_fixture_apps
    import gramex.apps.ui
    gramex.apps.ui.sass_bin = str(STUBS / 'sass.js')
    gramex.commandline([f'--listen.port={port}', '--browser=False'])


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(port, path):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    conn.putrequest('GET', path, skip_host=True, skip_accept_encoding=True)
    conn.putheader('Host', '127.0.0.1')
    conn.putheader('Accept-Encoding', 'identity')
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in NOT_REPLAYED], body


def body_json(body):
    try:
        return {'text': body.decode('utf-8')}
    except UnicodeDecodeError:
        return {'base64': base64.b64encode(body).decode('ascii')}


async def ws_exchange(port):
    import websockets
    out = []
    async with websockets.connect(f'ws://127.0.0.1:{port}{WS_PATH}') as ws:
        for m in WS_MESSAGES:
            await ws.send(m)
            out.append({'send': m, 'receive': await ws.recv()})
    return out


def main():
    gramex_src = os.environ.get('GRAMEX_SRC')
    if not gramex_src or not (Path(gramex_src) / 'gramex' / 'config.py').is_file():
        print('SKIPPED: set GRAMEX_SRC to a work tree of gramener/gramex (v1.94.5)')
        return 0
    port = free_port()
    home = tempfile.mkdtemp(prefix='gx-record-')
    log = open(Path(home) / 'gramex.log', 'w')
    proc = subprocess.Popen([sys.executable, __file__, '--serve', gramex_src, str(port)],
                            env=dict(os.environ, HOME=home), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        end = time.time() + 120
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > end or proc.poll() is not None:
                    raise RuntimeError(f'Gramex did not start; see {log.name}')
                time.sleep(0.3)
        cases = []
        for case in CASES:
            status, headers, body = get(port, case['path'])
            again = get(port, case['path'])
            if again[0] != status or again[2] != body:
                raise RuntimeError(f'{case["path"]}: Gramex answers differently each time')
            cases.append(dict(case, status=status, response_headers=headers, **body_json(body)))
            print(f'{status} {case["path"]:24} {dict(headers).get("Content-Type")}')
        ws = asyncio.run(ws_exchange(port))
        print(f'WebSocket {WS_PATH}: {ws}')
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    EXPECTED.write_text(json.dumps({
        'recorded_with': 'Gramex 1.94.5 (tests/gramex/record_fixture.py)',
        'cases': cases, 'websocket': {'path': WS_PATH, 'exchange': ws},
    }, indent=1) + '\n')
    print(f'wrote {EXPECTED}')
    return 0


if __name__ == '__main__':
    if sys.argv[1:2] == ['--serve']:
        serve()
    else:
        sys.exit(main())
