"""A method a url does not allow: 405 with Gramex's own answer (Tornado's
HTTPError, as text/plain with serve_traceback, Gramex's default; its HTML
line without), not httpd's page. Statuses, types and bodies as Gramex 1.94.5
answers them (gramex_serve.py on this app), the traceback cut to its last
line: the error, not the lines naming Gramex's own files."""
import requests

from gxbackends import CannedBackend

APP = """
url:
  up:
    pattern: /$YAMLURL/upload
    handler: UploadHandler
    kwargs: {path: $YAMLPATH/uploaded/, methods: post}
  fn:
    pattern: /$YAMLURL/fn
    handler: FunctionHandler
    kwargs: {function: str('x'), methods: [post, Put]}
  page:
    pattern: /$YAMLURL/page
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/page.txt
      methods: POST
      error: {405: {path: $YAMLPATH/405.txt}}
  old:
    pattern: /$YAMLURL/old
    handler: tornado.web.RedirectHandler
    kwargs: {url: /page}
"""


def served(httpd, app_dir, extra=''):
    app = app_dir({'gramex.yaml': extra + APP, 'page.txt': 'page\n', '405.txt': 'no such verb\n'})
    return httpd(f'GramexConfig "{app}/gramex.yaml"').start()


def test_refused_method_answers_as_gramex(httpd, app_dir):
    h = served(httpd, app_dir)
    r = requests.get(f'{h.url}/fn')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed (fn: method GET '
        "not in allowed methods ['POST', 'PUT'])\n")
    allow = r.headers['Allow'].replace(' ', '').split(',')
    assert 'POST' in allow and 'PUT' in allow and 'GET' not in allow
    r = requests.options(f'{h.url}/fn')
    assert (r.status_code, r.text) == (405, 'tornado.web.HTTPError: HTTP 405: Method Not Allowed '
                                       "(fn: method OPTIONS not in allowed methods ['POST', 'PUT'])\n")
    # RedirectHandler has GET only (other methods than OPTIONS meet Gramex's XSRF check first)
    r = requests.options(f'{h.url}/old')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed\n')
    # the url's error: page wins, as in Gramex
    r = requests.get(f'{h.url}/page')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (405, 'text/plain', 'no such verb\n')


def test_without_serve_traceback_tornados_html(httpd, app_dir):
    h = served(httpd, app_dir, 'app: {settings: {serve_traceback: false}}\n')
    r = requests.get(f'{h.url}/fn')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/html; charset=UTF-8',
        '<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>')


def test_upload_handler_keeps_methods_for_itself(httpd, app_dir):
    """UploadHandler takes methods: for itself (methods: get lists the
    uploads) and BaseHandler never sees it: Gramex refuses no method, so
    every method goes to Gramex, which answers for itself."""
    gramex = CannedBackend()
    app = app_dir({'gramex.yaml': 'url:\n  up:\n    pattern: /$YAMLURL/upload\n'
                                  '    handler: UploadHandler\n'
                                  '    kwargs: {path: $YAMLPATH/uploaded/, methods: get}\n'})
    try:
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream {gramex.url}').start()
        r = requests.post(f'{h.url}/upload', files={'file': ('a.txt', b'hello')})
        assert (r.status_code, r.text) == (200, 'ok')
        r = requests.get(f'{h.url}/upload')
        assert (r.status_code, r.text) == (200, 'ok')
        assert [req.split(b'\r\n')[0] for req in gramex.requests] == [
            b'POST /upload HTTP/1.1', b'GET /upload HTTP/1.1']
    finally:
        gramex.stop()
