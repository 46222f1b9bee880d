import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gxbackends import Backend  # noqa: E402
from gxhttpd import Httpd, readable_tmpdir, write_tree  # noqa: E402


@pytest.fixture
def httpd():
    """httpd(body) -> a configured (not started) private Apache; cleaned up after."""
    made = []

    def make(body='', **kw):
        h = Httpd(body, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.cleanup()


@pytest.fixture
def app_dir():
    """app_dir({relpath: text}) -> a www-data readable app directory."""
    made = []

    def make(files, prefix='gxtest-app-'):
        d = readable_tmpdir(prefix)
        made.append(d)
        return write_tree(d, files)

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def backends():
    """backends(name) -> a started backend.py echo server (gxbackends.Backend); stopped after."""
    made = []

    def make(name='backend'):
        b = Backend(name)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()
