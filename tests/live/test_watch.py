"""GramexWatch On: an edit of an app's config files is tested and applied with
a graceful restart; a broken edit is logged and the running app keeps serving;
a quick series of edits makes one restart."""
import shutil
import time

import pytest
import requests

from gxhttpd import Httpd, readable_tmpdir, wait_until, write_tree

WAIT = 20       # seconds: poll, settle, config test and graceful restart

YAML = ('url:\n  page:\n    pattern: /page\n    handler: FileHandler\n'
        '    kwargs: {path: $YAMLPATH/%s.html}\n')


def restarts(h):
    return h.error_log().count('resuming normal operations')


def wait_for(check, seconds=WAIT):
    return wait_until(check, seconds, 0.2)


@pytest.fixture
def watched():
    app = write_tree(readable_tmpdir('gxtest-watch-'), {
        'gramex.yaml': YAML % 'one', 'one.html': 'one\n', 'two.html': 'two\n', 'three.html': 'three\n'})
    h = Httpd(f'GramexWatch On\nGramexConfig "{app}/gramex.yaml"')
    try:
        h.start()
        assert wait_for(lambda: 'GramexWatch: watching' in h.error_log()), h.error_log()
        yield h, app
    finally:
        h.cleanup()
        shutil.rmtree(app, ignore_errors=True)


def page(h):
    return requests.get(f'{h.url}/page').text


def test_good_edit_is_applied(watched):
    h, app = watched
    before = restarts(h)
    assert page(h) == 'one\n'
    (app / 'gramex.yaml').write_text(YAML % 'two')
    assert wait_for(lambda: page(h) == 'two\n'), h.error_log()
    assert restarts(h) == before + 1
    assert 'config test passed; graceful restart' in h.error_log()


def test_bad_edit_keeps_serving(watched):
    h, app = watched
    before = restarts(h)
    (app / 'gramex.yaml').write_text('url:\n  page: [unclosed\n')
    assert wait_for(lambda: 'config test failed' in h.error_log()), h.error_log()
    assert 'gramex.yaml:' in h.error_log()         # the test's own message, with the line
    assert page(h) == 'one\n' and restarts(h) == before
    # fixed again: applied
    (app / 'gramex.yaml').write_text(YAML % 'three')
    assert wait_for(lambda: page(h) == 'three\n'), h.error_log()


def test_quick_series_of_edits_restarts_once(watched):
    h, app = watched
    before = restarts(h)
    for name in ['two', 'one', 'three', 'two', 'three']:
        (app / 'gramex.yaml').write_text(YAML % name)
        time.sleep(0.2)
    assert wait_for(lambda: page(h) == 'three\n'), h.error_log()
    time.sleep(3)                                  # a second restart would show by now
    assert restarts(h) == before + 1
