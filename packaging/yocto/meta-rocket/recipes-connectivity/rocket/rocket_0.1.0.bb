SUMMARY = "Rocket TR-069 / CWMP agent (CPE side)"
DESCRIPTION = "Lets an operator's ACS read and set the device's parameters, \
transfer files, reboot it and hear of changes (Broadband Forum TR-069, \
CWMP 1.0 to 1.4). One zipapp run by python3, shell backends and hooks."
SECTION = "net"
LICENSE = "BSD-2-Clause & PSF-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=d1554e69a65c60a37a90a3cd73b424ad"

# The sources: the Rocket tree this layer sits in (five levels up from
# here), plus the defusedxml wheel the zipapp bundles (PSF-2.0).
DEFUSEDXML_PV = "0.7.1"
FILESEXTRAPATHS:prepend := "${THISDIR}/../../../../..:"
SRC_URI = "file://rocket;subdir=src \
           file://etc;subdir=src \
           file://build_zipapp.py;subdir=src \
           file://LICENSE;subdir=src \
           https://files.pythonhosted.org/packages/py2.py3/d/defusedxml/defusedxml-${DEFUSEDXML_PV}-py2.py3-none-any.whl;name=defusedxml;unpack=0 \
"
SRC_URI[defusedxml.sha256sum] = "a352e7e428770286cc899e2542b6cdaedb2b4953ff269a210103ec58f6198a61"
S = "${WORKDIR}/src"

inherit python3native systemd update-rc.d useradd

do_configure[noexec] = "1"

# Bytecode for the target's python3: python3-native is the same version.
do_compile() {
    ${PYTHON} ${S}/build_zipapp.py --output ${B}/rocket.pyz \
        --defusedxml-wheel ${WORKDIR}/defusedxml-${DEFUSEDXML_PV}-py2.py3-none-any.whl \
        --bytecode ${PYTHON}
}

do_install() {
    install -d ${D}${nonarch_libdir}/rocket/backends ${D}${nonarch_libdir}/rocket/backends/hooks
    install -m 0644 ${B}/rocket.pyz ${D}${nonarch_libdir}/rocket/rocket.pyz
    # every file of rocket/backends/ but the documents (*.md): scripts
    # (executable in the tree) 0755, lib.sh, manifests and other data 0644
    for f in ${S}/rocket/backends/*; do
        case "$f" in *.md) continue ;; esac
        [ -f "$f" ] || continue
        if [ -x "$f" ]; then
            install -m 0755 "$f" ${D}${nonarch_libdir}/rocket/backends/
        else
            install -m 0644 "$f" ${D}${nonarch_libdir}/rocket/backends/
        fi
    done
    install -m 0755 ${S}/rocket/backends/hooks/* ${D}${nonarch_libdir}/rocket/backends/hooks/

    install -d ${D}${sysconfdir}/rocket
    install -m 0640 -g rocket ${S}/etc/rocket.conf ${D}${sysconfdir}/rocket/rocket.conf

    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -d ${D}${systemd_system_unitdir}
        install -m 0644 ${S}/etc/systemd/rocket.service ${D}${systemd_system_unitdir}/rocket.service
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -d ${D}${sysconfdir}/init.d
        install -m 0755 ${S}/etc/init.d/rocket ${D}${sysconfdir}/init.d/rocket
    fi
}

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --home-dir /var/lib/rocket --no-create-home --shell /sbin/nologin --user-group rocket"

SYSTEMD_SERVICE:${PN} = "rocket.service"
INITSCRIPT_NAME = "rocket"
INITSCRIPT_PARAMS = "defaults 95 10"

FILES:${PN} += "${nonarch_libdir}/rocket"
CONFFILES:${PN} = "${sysconfdir}/rocket/rocket.conf"

# Exactly the oe-core python3 packages the agent imports at run time
# (tests/test_packaging_deps.py checks this list against
# packaging/pydeps/oe-core-scarthgap.json); sh for the backends and hooks.
RDEPENDS:${PN} = "python3-core python3-crypt python3-datetime python3-difflib python3-email python3-fcntl \
                  python3-io python3-json python3-math python3-mime python3-netclient \
                  python3-shell python3-stringold python3-xml \
                  ${VIRTUAL-RUNTIME_base-utils}"
