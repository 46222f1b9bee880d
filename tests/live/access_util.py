"""The guarded fixture app of the access-control tests (issue 8) and the
markers in it. The raw client is gxclients.raw_request; the loopback echo
backend is gxbackends.Backend."""
from gxhttpd import REPO, readable_copy

FIXTURES = REPO / 'tests' / 'fixtures' / 'access'
GUARDED_APP = FIXTURES / 'guarded-app'
# every marker in guarded-app/: none may ever reach a client except CONTROL
ADMIN_MARKER = b'GX-ADMIN-MARKER-2f9c1e'
MEMBERS_MARKER = b'GX-MEMBERS-MARKER-8d04b7'
BACKTRACK_MARKER = b'GX-BACKTRACK-MARKER-c3d9f0'
CONTROL_MARKER = b'GX-CONTROL-MARKER-55aa01'
SECRETS = (ADMIN_MARKER, MEMBERS_MARKER, BACKTRACK_MARKER)


def guarded_app_copy():
    """A www-data readable copy of guarded-app/ (the checkout may be private)."""
    return readable_copy(GUARDED_APP, 'gxtest-guarded-')
