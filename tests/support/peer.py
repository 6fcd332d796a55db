"""A stdlib-only NETCONF client run as a child process, typically as an unprivileged uid.

    python3 peer.py SOCKET [PREAMBLE] < rpcs.json   ->  {"session_id": n, "replies": [...]}

It reads a JSON list of operation bodies from stdin, sends each in an <rpc> (base:1.1,
chunked) and prints the replies as JSON; {"error": "..."} when the server refuses or closes.
"""

import json
import re
import socket
import sys

from frames import Frames  # beside this file; runs without the test tree on sys.path

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
HELLO = (f'<hello xmlns="{BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
         "</capability></capabilities></hello>]]>]]>").encode()


def main() -> int:
    path = sys.argv[1]
    preamble = sys.argv[2] if len(sys.argv) > 2 else None
    ops = json.load(sys.stdin)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(path)
        p = Frames(sock)
        if preamble is not None:
            p.send(preamble.encode() + b"\0")
        hello = p.read_eom().decode()
        sid = int(re.search(r"<session-id>(\d+)</session-id>", hello).group(1))
        p.send(HELLO)
        replies = []
        for i, op in enumerate(ops):
            body = f'<rpc xmlns="{BASE}" message-id="{i + 1}">{op}</rpc>'.encode()
            p.send_chunked(body)
            replies.append(p.read_chunked().decode())
    except (OSError, EOFError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 0
    print(json.dumps({"session_id": sid, "replies": replies}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
