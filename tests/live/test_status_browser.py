"""The status page in a real browser: Debian's headless Chromium renders it,
the screenshot is kept as build/artifacts/gramex-status.png, and the DOM it
built is checked for what an operator reads. Skipped (saying so) when the
chromium package is not installed: apt-get install -y chromium."""
import shutil
import subprocess

import pytest
import requests

from gxhttpd import BUILD
from test_status import APP, STATUS

CHROMIUM = shutil.which('chromium')
pytestmark = pytest.mark.skipif(not CHROMIUM, reason='Debian package chromium is not installed '
                                                     '(apt-get install -y chromium)')


def chromium(*args):
    out = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
                          '--disable-dev-shm-usage', '--hide-scrollbars', *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_status_page_renders_in_chromium(httpd, app_dir):
    app = app_dir({'gramex.yaml': APP.replace('{port}', '9'), 'static/a.txt': 'a\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS).start()
    for _ in range(3):
        assert requests.get(f'{h.url}/static/a.txt').status_code == 200
    requests.get(f'{h.url}/static/missing.txt')
    artefacts = BUILD / 'artifacts'
    artefacts.mkdir(exist_ok=True)
    shot = artefacts / 'gramex-status.png'
    shot.unlink(missing_ok=True)
    chromium(f'--screenshot={shot}', '--window-size=1400,1000', f'{h.url}/gramex-status')
    png = shot.read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000
    dom = chromium('--dump-dom', f'{h.url}/gramex-status')
    assert '<h1>Gramex app status</h1>' in dom
    assert f'<code>{app}/gramex.yaml</code>' in dom
    assert f'files under {app}/static' in dom
    # the static url's row: 4 hits, 1 4xx, 0 5xx
    assert ('<td class="num">4</td><td class="num">1</td><td class="num">0</td>'
            '<td>404 at ') in dom
