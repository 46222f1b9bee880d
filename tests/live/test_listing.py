"""FileHandler listings (index: true): the url's index_template ($path, $body as
Gramex fills them), a strong ETag with 304 on a conditional request, and only
entries httpd's access control lets through."""
import shutil

import pytest
import requests

from gxhttpd import Httpd, readable_tmpdir, write_tree

APP = {
    'gramex.yaml': 'url:\n'
                   '  plain:\n    pattern: /plain/(.*)\n    handler: FileHandler\n'
                   '    kwargs: {path: $YAMLPATH/files/, index: true}\n'
                   '  themed:\n    pattern: /themed/(.*)\n    handler: FileHandler\n'
                   '    kwargs: {path: $YAMLPATH/files/, index: true, index_template: $YAMLPATH/list.html}\n',
    'list.html': '<title>$path</title><ul class="x">$body<p>$$1 ${path}</p>\n',
    'files/a.txt': 'a\n',
    'files/b c.txt': 'b\n',
    'files/sub/d.txt': 'd\n',
}


@pytest.fixture(scope='module')
def server():
    app = write_tree(readable_tmpdir('gxtest-listing-'), APP)
    h = Httpd(f'GramexConfig "{app}/gramex.yaml"')
    try:
        yield h.start()
    finally:
        h.cleanup()
        shutil.rmtree(app, ignore_errors=True)


def test_index_template(server):
    r = requests.get(f'{server.url}/themed/')
    assert r.status_code == 200
    assert r.headers['Content-Type'] == 'text/html; charset=UTF-8'
    assert r.text == ('<title>/themed/</title><ul class="x">'
                      '<li><a href="./a.txt">a.txt</a></li>\n'
                      '<li><a href="./b%20c.txt">b c.txt</a></li>\n'
                      '<li><a href="./sub/">sub/</a></li>\n'
                      '</ul><p>$1 /themed/</p>\n')


def test_default_listing_and_etag(server):
    r = requests.get(f'{server.url}/plain/')
    assert r.status_code == 200
    assert r.text == ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>/plain/</title>'
                      '</head>\n<body><h1>/plain/</h1>\n<ul>\n'
                      '<li><a href="./a.txt">a.txt</a></li>\n'
                      '<li><a href="./b%20c.txt">b c.txt</a></li>\n'
                      '<li><a href="./sub/">sub/</a></li>\n'
                      '</ul>\n</body></html>\n')
    etag = r.headers['ETag']
    assert len(etag) == 42 and etag.startswith('"') and etag.endswith('"')
    again = requests.get(f'{server.url}/plain/', headers={'If-None-Match': etag})
    assert again.status_code == 304 and again.text == ''
    # a different page has a different tag
    assert requests.get(f'{server.url}/themed/').headers['ETag'] != etag
