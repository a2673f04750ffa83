# Every answer csdk serve gives before reading a request's body (a refusal
# from the request line and headers) goes out after the body is read: a
# client that sends its headers, pauses 300 ms, then sends the body reads the
# exact status and message, not a reset. Usage: early-check.py URL KEY SANDBOX TOKEN
import json
import socket
import sys
import time
from urllib.parse import urlparse

url, key, sandbox, token = sys.argv[1:5]
addr = (urlparse(url).hostname, urlparse(url).port)
failed = 0


def exchange(method, path, hdrs, body, chunked=False):
    s = socket.create_connection(addr, timeout=30)
    hdrs = {"Host": "127.0.0.1", **hdrs}
    head = f"{method} {path} HTTP/1.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n"
    s.sendall((head + "\r\n").encode())
    time.sleep(0.3)
    # The body in two writes: the second one meets the reset of a server that
    # answered and closed (EPIPE), as a client streaming an upload does.
    wire = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body
    s.sendall(wire[:len(wire) // 2])
    time.sleep(0.1)
    s.sendall(wire[len(wire) // 2:])
    data = b""
    while True:
        if b"\r\n\r\n" in data:
            h, _, rest = data.partition(b"\r\n\r\n")
            n = [int(l.split(b":")[1]) for l in h.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if n and len(rest) >= n[0]:
                break
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    h, _, rest = data.partition(b"\r\n\r\n")
    return int(h.split(b" ", 2)[1]), json.loads(rest or b"{}")


def case(what, method, path, hdrs, body, status, answer, chunked=False):
    global failed
    try:
        got = exchange(method, path, hdrs, body, chunked)
    except (OSError, ValueError, IndexError) as e:
        got = (None, repr(e))
    if got != (status, answer):
        print(f"FAIL: {what}: expected {status} {answer}, got {got[0]} {got[1]}")
        failed = 1
    else:
        print(f"ok: {what}: {status}")


body = b'{"timeout": 30}' + b" " * 64 * 1024
k = {"X-API-KEY": key}
err = lambda code, msg: {"code": code, "message": msg}
case("control plane, a wrong API key", "POST", "/sandboxes", {"X-API-KEY": "wrong"}, body, 401, err(401, "invalid API key"))
case("control plane, no API key", "POST", "/sandboxes", {}, body, 401,
     err(401, "missing API key; send it in the X-API-KEY header"))
case("control plane, no route", "POST", "/nope", k, body, 404, err(404, "no route for POST nope"))
case("control plane, a method not allowed", "PUT", "/sandboxes", k, body, 405,
     err(405, "PUT is not allowed on /sandboxes; use GET or POST"))
case("control plane, a bad timeout", "POST", f"/sandboxes/{sandbox}/timeout", k, b'{"timeout": "x"}' + body[15:], 400,
     err(400, "timeout must be a whole number of seconds"))
case("control plane, an unknown sandbox", "POST", "/sandboxes/nosuch-sandbox/timeout", k, body, 404,
     err(404, "sandbox 'nosuch-sandbox' not found"))
case("envd, not a sandbox id", "POST", "/files", {"E2b-Sandbox-Id": "no/such"}, body, 400,
     err(400, "'no/such' is not a sandbox id"))
case("envd, not a port", "POST", "/files", {"E2b-Sandbox-Id": sandbox, "E2b-Sandbox-Port": "port"}, body, 400,
     err(400, "E2b-Sandbox-Port 'port' is not a port"))
case("envd, an unknown sandbox", "POST", "/files", {"E2b-Sandbox-Id": "nosuch-sandbox"}, body, 502,
     err(502, "sandbox 'nosuch-sandbox' not found: it was killed, timed out, or was not created by this server"))
case("envd by Host, an unknown sandbox", "POST", "/files", {"Host": "49983-nosuch-sandbox.serve.test"}, body, 502,
     err(502, "sandbox 'nosuch-sandbox' not found: it was killed, timed out, or was not created by this server"))
case("envd, a wrong access token", "POST", "/files?path=/tmp/x", {"E2b-Sandbox-Id": sandbox, "X-Access-Token": "wrong"},
     body, 401, err(401, "invalid or missing access token"))
case("envd RPC, a wrong access token", "POST", "/process.Process/List",
     {"E2b-Sandbox-Id": sandbox, "X-Access-Token": "wrong"}, body, 401,
     {"code": "unauthenticated", "message": "invalid or missing access token"})
case("envd RPC, a wrong access token, chunked", "POST", "/process.Process/List",
     {"E2b-Sandbox-Id": sandbox, "X-Access-Token": "wrong"}, body, 401,
     {"code": "unauthenticated", "message": "invalid or missing access token"}, chunked=True)
sys.exit(failed)
