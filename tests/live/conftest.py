import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
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
