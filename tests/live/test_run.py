"""`./apxs-build.sh run APP_DIR --port N`: the README's first command serves an app."""
import shutil
import signal
import subprocess
import time

import requests

from gxhttpd import REPO, free_port, readable_copy

START_TIMEOUT = 60


def test_run_serves_an_app():
    app = readable_copy(REPO / 'demo', 'gxtest-run-')
    port = free_port()
    proc = subprocess.Popen([str(REPO / 'apxs-build.sh'), 'run', str(app), '--port', str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        end, r = time.time() + START_TIMEOUT, None
        while time.time() < end and r is None:
            try:
                r = requests.get(f'http://127.0.0.1:{port}/', timeout=2)
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.2)
        assert r is not None and r.status_code == 200 and 'mod_gramex demo' in r.text
        assert requests.get(f'http://127.0.0.1:{port}/static/.env').status_code == 403
        status = requests.get(f'http://127.0.0.1:{port}/gramex-status?json').json()
        assert status['apps'][0]['yaml'] == f'{app}/gramex.yaml'
    finally:
        # the foreground httpd is the process we started (run execs it)
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        shutil.rmtree(app.parent, ignore_errors=True)
    # Ctrl+C (here SIGTERM) stops it: nothing answers any more
    try:
        requests.get(f'http://127.0.0.1:{port}/', timeout=2)
        stopped = False
    except requests.ConnectionError:
        stopped = True
    assert stopped
