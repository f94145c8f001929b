"""The recorded OpenWrt router (tests/openwrt/c7) as a place the openwrt
backend can run: a private copy of its files, and the environment that
points the backend and the stand-ins of tests/bin at it.

    env = environment(directory)        # copies the tree into directory
    subprocess.run([script, "get"], env=dict(os.environ, **env))

Service scripts (`wifi`, /etc/init.d/*) and `passwd` are stubs that log
their calls to directory/services.log (passwd's stdin to passwd.in)."""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
C7 = os.path.join(HERE, "openwrt", "c7")
BIN = os.path.join(HERE, "bin")
SERVICES = ("network", "dnsmasq", "sysntpd", "firewall", "system")


def environment(d, tree=C7):
    """Copy TREE under D; the variables (PATH first) that make the openwrt
    backend and the stand-ins use it."""
    d = str(d)
    root = os.path.join(d, "root")
    shutil.copytree(os.path.join(tree, "root"), root, symlinks=True)
    shutil.copytree(os.path.join(tree, "config"), os.path.join(root, "etc", "config"))
    stubs = os.path.join(d, "stubs")
    initd = os.path.join(d, "initd")
    os.makedirs(stubs)
    os.makedirs(initd)
    log = os.path.join(d, "services.log")
    for name, where in [("wifi", stubs)] + [(s, initd) for s in SERVICES]:
        with open(os.path.join(where, name), "w") as f:
            f.write('#!/bin/sh\necho "%s $*" >>"%s"\n' % (name, log))
        os.chmod(os.path.join(where, name), 0o755)
    with open(os.path.join(stubs, "passwd"), "w") as f:
        f.write('#!/bin/sh\necho "passwd $*" >>"%s"\ncat >>"%s"\n' % (log, os.path.join(d, "passwd.in")))
    os.chmod(os.path.join(stubs, "passwd"), 0o755)
    return {
        "PATH": "%s:%s:%s" % (BIN, stubs, os.environ.get("PATH", "/usr/bin:/bin")),
        "UCI_CONFDIR": os.path.join(root, "etc", "config"),
        "UCI_LOG": os.path.join(d, "uci.log"),
        "UBUS_LOG": os.path.join(d, "ubus.log"),
        "IWINFO_LOG": os.path.join(d, "iwinfo.log"),
        "ETHTOOL_LOG": os.path.join(d, "ethtool.log"),
        "SWCONFIG_LOG": os.path.join(d, "swconfig.log"),
        "IW_LOG": os.path.join(d, "iw.log"),
        "OPENWRT_REPLAY": tree,
        "ROCKET_OPENWRT_ROOT": root,
        "ROCKET_INITD": initd,
    }
