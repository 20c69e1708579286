#!/usr/bin/python3
"""python3-dkim (dkimpy) as a second DKIM implementation for tests/auth/dkim_*_test.cpp.

  dkim_tool.py sign KEY.pem SELECTOR DOMAIN HEADER/BODY [--length] [--identity I] [--sha1] < msg
      prints the DKIM-Signature field dkimpy makes (rsa-sha256, rsa-sha1 with --sha1,
      or ed25519-sha256 for an Ed25519 key), CRLF-terminated, ready to prepend
  dkim_tool.py verify RECORDS < msg
      prints "pass" or "fail: <why>" for the first signature; RECORDS holds lines
      "<selector>._domainkey.<domain> <TXT record>"

Run it with /usr/bin/python3: the Debian python3-dkim and python3-nacl live there.
"""
import argparse
import base64
import sys

import dkim


def private_key(pem_path):
    """The key as dkimpy wants it: RSA PEM as is, Ed25519 as the base64 32-byte seed."""
    pem = open(pem_path, "rb").read()
    der = base64.b64decode(b"".join(l for l in pem.splitlines() if not l.startswith(b"-----")))
    # A PKCS#8 Ed25519 key is 48 bytes, the seed last; RSA keys are far longer.
    if len(der) == 48:
        return base64.b64encode(der[-32:]), b"ed25519-sha256"
    return pem, b"rsa-sha256"


def sign(args, message):
    key, algorithm = private_key(args.key)
    if args.sha1:
        algorithm = b"rsa-sha1"
    header_canon, body_canon = args.canon.encode().split(b"/")
    field = dkim.sign(message, args.selector.encode(), args.domain.encode(), key,
                      identity=args.identity.encode() if args.identity else None,
                      canonicalize=(header_canon, body_canon), signature_algorithm=algorithm,
                      include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                      length=args.length)
    sys.stdout.buffer.write(field)


def verify(args, message):
    records = {}
    for line in open(args.records, encoding="ascii"):
        name, _, record = line.strip().partition(" ")
        records[name] = record

    def dnsfunc(name, timeout=5):
        return records.get(name.decode("ascii").rstrip("."))

    logs = []

    class Collect:
        def __getattr__(self, level):
            return lambda message, *a: logs.append(message % a if a else message)

    try:
        ok = dkim.DKIM(message, logger=Collect()).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:  # some failures are raised, not returned
        ok, logs = False, [e]
    print("pass" if ok else "fail: " + "; ".join(str(l) for l in logs[-2:]))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("sign")
    s.add_argument("key")
    s.add_argument("selector")
    s.add_argument("domain")
    s.add_argument("canon")
    s.add_argument("--length", action="store_true")
    s.add_argument("--identity")
    s.add_argument("--sha1", action="store_true")
    v = commands.add_parser("verify")
    v.add_argument("records")
    args = parser.parse_args()
    message = sys.stdin.buffer.read()
    if args.command == "sign":
        sign(args, message)
    else:
        verify(args, message)


if __name__ == "__main__":
    main()
