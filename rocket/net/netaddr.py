"""Local addresses, read from the kernel without running any program.

- ``interface_address(name, family)``: the address of a network interface:
  IPv4 with the ``SIOCGIFADDR`` ioctl, IPv6 (global scope, usable: not
  tentative, deprecated or failed DAD) from ``/proc/net/if_inet6``.
- ``route_source(ip, port)``: the local address the kernel would use to reach
  ``ip``: a UDP socket is "connected" to it, which only consults the routing
  table (no packet is sent), and ``getsockname`` tells the source address.
- ``url_host(host)``: a host for a URL (IPv6 literals in brackets).

Every function returns None (never raises) when the answer is unknown.
"""

import socket

SIOCGIFADDR = 0x8915
_IFA_UNUSABLE = 0x40 | 0x20 | 0x08  # IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED


def interface_address(name, family=None):
    """The address of interface ``name``: of ``family`` if it has one (IPv4
    first when ``family`` is None), else of the other family."""
    order = (_ipv6_of, _ipv4_of) if family == socket.AF_INET6 else (_ipv4_of, _ipv6_of)
    for fn in order:
        addr = fn(name)
        if addr is not None:
            return addr
    return None


def _ipv4_of(name):
    import fcntl
    import struct
    raw = name.encode("utf-8", "replace")[:15]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", raw))
    except OSError:
        return None
    finally:
        s.close()
    return socket.inet_ntoa(res[20:24])


def _ipv6_of(name, path="/proc/net/if_inet6"):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) != 6 or parts[5] != name:
            continue
        try:
            scope, flags = int(parts[3], 16), int(parts[4], 16)
            packed = bytes.fromhex(parts[0])
        except ValueError:
            continue
        if scope != 0 or flags & _IFA_UNUSABLE or len(packed) != 16:
            continue
        return socket.inet_ntop(socket.AF_INET6, packed)
    return None


def route_source(ip, port=7547):
    """Local address of the route towards ``ip`` (an address, not a name)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        s = socket.socket(family, socket.SOCK_DGRAM)
    except OSError:
        return None
    try:
        s.connect((ip, port or 7547))
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    if "%" in addr:
        addr = addr.split("%", 1)[0]
    return addr


def is_ip(host):
    """True for an IPv4 or IPv6 literal (no brackets)."""
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def url_host(host):
    """``host`` as it goes between ``http://`` and ``:port``."""
    if ":" in host and not host.startswith("["):
        return "[%s]" % host
    return host


def unmap(ip):
    """``::ffff:192.0.2.1`` (an IPv4 peer on a dual-stack socket) -> ``192.0.2.1``."""
    if ip.startswith("::ffff:") and "." in ip:
        return ip[7:]
    return ip
