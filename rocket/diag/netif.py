"""What the diagnostics need from the host's network stack, read from
/proc and /sys (no helper binaries): the interface a destination is routed
through, its byte counters, the source address the kernel picks, literal
addresses.

Not a model of the device's interfaces: a test's ``Interface`` parameter is
turned into a Linux name by the service (rocket.diag.service).
"""

import socket
import struct

SYS_NET = "/sys/class/net/"


def literal(host):
    """(family, address) if ``host`` is an IP address literal, else None."""
    h = host.strip("[]")
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            return fam, socket.inet_ntop(fam, socket.inet_pton(fam, h))
        except (OSError, ValueError):
            pass
    return None


def source_for(fam, addr, device=""):
    """The local address the kernel would use towards ``addr`` ('' if none)."""
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if device:
            bind_device(s, device)
        s.connect((addr, 9))
        return s.getsockname()[0]
    except OSError:
        return ""
    finally:
        s.close()


def bind_device(sock, device):
    """SO_BINDTODEVICE (needs CAP_NET_RAW); OSError if refused."""
    sock.setsockopt(socket.SOL_SOCKET, 25, device.encode() + b"\0")


def set_dscp(sock, fam, dscp):
    if dscp:
        if fam == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, 67, dscp << 2)  # IPV6_TCLASS
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)


def route_device(fam, addr):
    """The interface the main routing table sends ``addr`` through ('' if unknown)."""
    try:
        if fam == socket.AF_INET:
            dst = struct.unpack("=I", socket.inet_aton(addr))[0]
            best, dev = -1, ""
            with open("/proc/net/route") as f:
                next(f)
                for line in f:
                    w = line.split()
                    net, mask = int(w[1], 16), int(w[7], 16)
                    plen = bin(mask).count("1")
                    if dst & mask == net and plen > best:
                        best, dev = plen, w[0]
            return dev
        dst = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big")
        best, dev = -1, ""
        with open("/proc/net/ipv6_route") as f:
            for line in f:
                w = line.split()
                net, plen = int(w[0], 16), int(w[1], 16)
                if w[9] == "lo" and net != dst:
                    continue
                if (dst >> (128 - plen) if plen else 0) == (net >> (128 - plen) if plen else 0) and plen > best:
                    best, dev = plen, w[9]
        return dev
    except (OSError, ValueError, IndexError, StopIteration):
        return ""


def counters(dev):
    """(rx_bytes, tx_bytes) of interface ``dev``, (0, 0) when unknown."""
    out = []
    for k in ("rx_bytes", "tx_bytes"):
        try:
            with open("%s%s/statistics/%s" % (SYS_NET, dev, k)) as f:
                out.append(int(f.read()))
        except (OSError, ValueError):
            out.append(0)
    return tuple(out)
