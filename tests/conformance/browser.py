#!/usr/bin/env python3
"""A headless browser for OAuth tests: set as $BROWSER, it fetches the
authorization URL and follows the redirects. The test authorization servers
approve at once, so the last redirect lands on mcpmux's loopback callback."""
import sys
import urllib.request

urllib.request.urlopen(sys.argv[-1], timeout=30).read()
