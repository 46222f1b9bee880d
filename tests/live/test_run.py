"""`./apxs-build.sh run APP_DIR --port N`: the README's first command serves an app."""
import shutil

import pytest
import requests

from gxhttpd import REPO, apxs_run, readable_copy

START_TIMEOUT = 60


def test_run_serves_an_app():
    app = readable_copy(REPO / 'demo', 'gxtest-run-')
    try:
        with apxs_run(app, START_TIMEOUT) as port:
            r = requests.get(f'http://127.0.0.1:{port}/', timeout=10)
            assert r.status_code == 200 and r.text == (app / 'index.html').read_text()
            assert requests.get(f'http://127.0.0.1:{port}/static/.env').status_code == 403
            status = requests.get(f'http://127.0.0.1:{port}/gramex-status?json').json()
            assert status['apps'][0]['yaml'] == f'{app}/gramex.yaml'
    finally:
        shutil.rmtree(app.parent, ignore_errors=True)
    # Ctrl+C (here SIGTERM to the foreground httpd: run execs it) stops it:
    # nothing answers any more
    with pytest.raises(requests.ConnectionError):
        requests.get(f'http://127.0.0.1:{port}/', timeout=2)
