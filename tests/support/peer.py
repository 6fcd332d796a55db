"""A stdlib-only NETCONF client run as a child process, typically as an unprivileged uid.

    python3 peer.py SOCKET [PREAMBLE] < rpcs.json   ->  {"session_id": n, "replies": [...]}

It reads a JSON list of operation bodies from stdin, sends each in an <rpc> (base:1.1,
chunked) and prints the replies as JSON; {"error": "..."} when the server refuses or closes.
"""

import json
import re
import socket
import sys

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
HELLO = (f'<hello xmlns="{BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
         "</capability></capabilities></hello>]]>]]>").encode()


class Peer:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""

    def fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the server")
        self.buf += data

    def read_eom(self) -> bytes:
        while b"]]>]]>" not in self.buf:
            self.fill()
        msg, _, self.buf = self.buf.partition(b"]]>]]>")
        return msg

    def read_chunked(self) -> bytes:
        parts = []
        while True:
            while not (m := re.match(rb"\n#(#|[1-9][0-9]*)\n", self.buf)):
                self.fill()
            if m.group(1) == b"#":
                self.buf = self.buf[m.end():]
                return b"".join(parts)
            size = int(m.group(1))
            while len(self.buf) < m.end() + size:
                self.fill()
            parts.append(self.buf[m.end(): m.end() + size])
            self.buf = self.buf[m.end() + size:]


def main() -> int:
    path = sys.argv[1]
    preamble = sys.argv[2] if len(sys.argv) > 2 else None
    ops = json.load(sys.stdin)
    try:
        p = Peer(path)
        if preamble is not None:
            p.sock.sendall(preamble.encode() + b"\0")
        hello = p.read_eom().decode()
        sid = int(re.search(r"<session-id>(\d+)</session-id>", hello).group(1))
        p.sock.sendall(HELLO)
        replies = []
        for i, op in enumerate(ops):
            body = f'<rpc xmlns="{BASE}" message-id="{i + 1}">{op}</rpc>'.encode()
            p.sock.sendall(b"\n#%d\n%b\n##\n" % (len(body), body))
            replies.append(p.read_chunked().decode())
    except (OSError, EOFError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 0
    print(json.dumps({"session_id": sid, "replies": replies}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
