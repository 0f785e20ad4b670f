"""Calls the agent's proxy listener with nothing but Python's standard library, as any script could.

Usage: stdlib_client.py PROXY_HOST:PORT UPSTREAM
Prints one JSON object: the status, body and x-levee-* headers of a GET /hello, and of the same
request sent with the agent as an HTTP proxy (urllib's ProxyHandler: absolute-form request target).
"""
import http.client
import json
import sys
import urllib.request

proxy, upstream = sys.argv[1], sys.argv[2]
host, port = proxy.rsplit(":", 1)

connection = http.client.HTTPConnection(host, int(port), timeout=10)
connection.request("GET", "/hello", headers={"Host": upstream, "x-levee-timeout-ms": "5000"})
response = connection.getresponse()
direct = {
    "status": response.status,
    "body": response.read().decode(),
    "outcome": response.getheader("x-levee-outcome"),
    "attempts": response.getheader("x-levee-attempts"),
}
connection.close()

opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{proxy}"}))
with opener.open(f"http://{upstream}/hello", timeout=10) as answer:
    proxied = {"status": answer.status, "body": answer.read().decode(), "outcome": answer.headers["x-levee-outcome"]}

print(json.dumps({"direct": direct, "proxied": proxied}))
