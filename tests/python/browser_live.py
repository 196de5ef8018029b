"""Opens a page in headless Chromium through the DevTools protocol and waits, with a hard
bound, until a CSS selector matches at least N elements; prints the page's HTML then.

Usage: browser_live.py CHROMIUM URL SELECTOR COUNT [SECONDS]
Exits 0 with the HTML on stdout once COUNT elements match, 1 (with the HTML so far) when
SECONDS (default 15) pass first. Unlike --dump-dom, this sees what a page's scripts add
after load, such as events arriving over an open EventSource.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

chromium, url, selector, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
deadline = time.monotonic() + (float(sys.argv[5]) if len(sys.argv) > 5 else 15.0)
profile = tempfile.mkdtemp(prefix="herald-cdp-")
browser = subprocess.Popen(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
     f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    port_file = os.path.join(profile, "DevToolsActivePort")
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if time.monotonic() > deadline:
            sys.exit("chromium did not open its DevTools port")
        time.sleep(0.05)
    port = open(port_file).read().split()[0]
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=5)
    ids = iter(range(1, 1_000_000))

    def call(method, **params):
        ident = next(ids)
        ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == ident:
                return message.get("result", {})

    def evaluate(expression):
        return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    call("Page.navigate", url=url)
    matched = 0
    while time.monotonic() < deadline:
        matched = evaluate(f"document.querySelectorAll({json.dumps(selector)}).length") or 0
        if matched >= count:
            break
        time.sleep(0.1)
    print(evaluate("document.documentElement.outerHTML"))
    sys.exit(0 if matched >= count else 1)
finally:
    browser.kill()
    browser.wait()
    shutil.rmtree(profile, ignore_errors=True)
