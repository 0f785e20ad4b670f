#!/usr/bin/env python3
"""A shop front that degrades gracefully, driven by its Levee agent's service level.

The page has three features that depend on upstreams: personalised recommendations (upstream
`recommendations`), and the live catalogue and checkout (upstreams `inventory` and `payments`). The
shop does not guess which of them are sick: it watches the agent (`Guard.Watch`), which judges the
service level from its breakers under the configuration's `degradation` rules, and turns features
off as the level drops:

  FULL      personalised recommendations, fetched through the agent (`Guard.Call`);
  DEGRADED  a generic "popular right now" list instead, without calling recommendations at all;
  MINIMAL   the last page rendered at a better level (cached), under a banner saying checkout is
            paused.

Run it beside an agent whose configuration has the three upstreams and rules like:

  degradation:
    degraded:
      - open: [recommendations]
    minimal:
      - open: [payments, inventory]

Usage: shop.py [--socket PATH] [--listen HOST:PORT] [--port-file FILE] [--python-path DIR]

It calls the agent through the `levee` package (clients/python: `pip install ./clients/python`);
--python-path names a folder where the package is installed (`pip install --target DIR`) when it is
not in site-packages. GET / is the page; GET /level the level as JSON.
"""

import argparse
import html
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POPULAR = ["Rain boots", "Sandbags", "Umbrella", "Tide table"]


class Shop:
    """The page and the level it is rendered at. Watch updates the level from a thread of its own."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.level = "UNKNOWN"
        self.reasons = []
        self.cached_page = None

    # The level, from the agent.

    def watch_forever(self):
        """Follows Guard.Watch; reconnects with a capped backoff when the agent is away."""
        backoff = 0.1
        while True:
            try:
                for change in self.client.watch():
                    backoff = 0.1
                    if change.level is not None:
                        self.set_level(change.level.name, change.reasons)
            except Exception as error:  # the agent restarted or is not up yet
                print(f"shop: watch: {error.__class__.__name__}; retrying in {backoff:.1f}s", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def set_level(self, name, reasons):
        with self.lock:
            if name != self.level:
                print(f"shop: service level {name}: {'; '.join(reasons) or 'all features on'}", file=sys.stderr)
            self.level, self.reasons = name, list(reasons)

    def current(self):
        with self.lock:
            return self.level, list(self.reasons)

    # The page.

    def recommendations(self):
        """Personalised picks through the agent; the agent's fallback or the generic list otherwise."""
        response = self.client.call("recommendations", "GET", "/recommendations?user=42", timeout=0.3)
        if response.ok or response.fallback:  # the upstream's answer, or the agent's fallback (STALE, STATIC)
            return "Recommended for you", response.body.decode(errors="replace")
        return "Popular right now", ", ".join(POPULAR)

    def render(self):
        level, reasons = self.current()
        if level == "MINIMAL":
            with self.lock:
                cached = self.cached_page
            banner = ('<p class="banner">Some features are unavailable right now; checkout is paused. '
                      "You are seeing a saved copy of this page.</p>")
            body = cached or '<h2>Popular right now</h2><p id="list">' + html.escape(", ".join(POPULAR)) + "</p>"
            return level, banner + body
        if level == "DEGRADED":
            title, items = "Popular right now", ", ".join(POPULAR)
        else:
            title, items = self.recommendations()
        body = f'<h2>{html.escape(title)}</h2><p id="list">{html.escape(items)}</p><button>Checkout</button>'
        with self.lock:
            self.cached_page = body
        return level, body


def serve(shop, listen, port_file):
    host, port = listen.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/level":
                level, reasons = shop.current()
                self.answer(200, "application/json", json.dumps({"level": level, "reasons": reasons}), level)
            elif self.path == "/":
                level, body = shop.render()
                page = f"<!doctype html><title>Shop</title><h1>Shop</h1>{body}"
                self.answer(200, "text/html; charset=utf-8", page, level)
            else:
                self.answer(404, "text/plain", "not found\n", shop.current()[0])

        def answer(self, status, content_type, text, level):
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.send_header("x-service-level", level)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer((host, int(port)), Handler)
    bound = server.server_address[1]
    print(f"shop: http://{host}:{bound}/", file=sys.stderr)
    if port_file:
        with open(port_file + ".tmp", "w") as file:
            file.write(str(bound))
        os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", help="the agent's app socket (default: $LEVEE_SOCKET, else the agent's default)")
    parser.add_argument("--listen", default="127.0.0.1:8000", help="HOST:PORT for the page (port 0: any)")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--python-path", help="a folder where the levee package is installed (pip --target)")
    arguments = parser.parse_args()

    if arguments.python_path:
        sys.path.insert(0, arguments.python_path)
    import levee

    shop = Shop(levee.Levee(arguments.socket))
    threading.Thread(target=shop.watch_forever, daemon=True).start()
    serve(shop, arguments.listen, arguments.port_file)


if __name__ == "__main__":
    main()
