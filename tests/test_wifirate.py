"""rocket/backends/wifirate.awk (WiFi.Radio.{i}.MaxBitRate from `iw phy`):
the rates of IEEE 802.11's tables, and real radios' `iw phy` outputs
(tests/fixtures/iw), under every awk the packs run on."""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

AWK = os.path.join(ROOT, "rocket", "backends", "wifirate.awk")
IW = os.path.join(ROOT, "tests", "fixtures", "iw")
AWKS = [pytest.param([a], id=a) for a in ("mawk", "gawk", "original-awk") if shutil.which(a)] + \
    [pytest.param(["busybox", "awk"], id="busybox",
                  marks=pytest.mark.skipif(not shutil.which("busybox"), reason="busybox is not installed"))]
if not AWKS or all(p.id == "busybox" for p in AWKS):
    AWKS.append(pytest.param(["awk"], id="awk"))

# each phy's lines to wr_line, then "PHY RATE" per phy
DRIVER = r'''
$1 == "Wiphy" { p = $2; order[++n] = p; next }
p != "" { wr_line(p, $0) }
END { for (i = 1; i <= n; i++) print order[i], wr_max(order[i]) }
'''


def rates(awk, path, tmp_path):
    prog = tmp_path / "driver.awk"
    prog.write_text(DRIVER)
    r = subprocess.run(awk + ["-f", AWK, "-f", str(prog), path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return dict(line.split(" ", 1) for line in r.stdout.splitlines())


@pytest.mark.parametrize("awk", AWKS)
def test_rates_of_the_standard_tables(awk, tmp_path):
    """Values of IEEE 802.11's HT, VHT and HE rate tables (rounded to 0.1 Mbps)."""
    cases = [
        ("wr_vht(20, 1, 7, 0)", "65.0"), ("wr_vht(20, 1, 7, 1)", "72.2"),  # HT20 MCS 7
        ("wr_vht(40, 3, 7, 1)", "450.0"), ("wr_vht(40, 2, 7, 0)", "270.0"),  # HT40 MCS 23, 15
        ("wr_vht(80, 1, 9, 1)", "433.3"), ("wr_vht(80, 3, 9, 1)", "1300.0"),
        ("wr_vht(160, 2, 9, 1)", "1733.3"), ("wr_vht(80, 4, 9, 0)", "1560.0"),
        ("wr_vht(20, 1, 9, 1)", "86.7"),  # VHT20 1SS has no MCS 9: MCS 8
        ("wr_vht(20, 3, 9, 0)", "260.0"),  # ... 3SS has
        ("wr_vht(80, 6, 9, 1)", "2340.0"),  # VHT80 6SS has no MCS 9: MCS 8
        ("wr_vht(160, 3, 9, 0)", "2106.0"),  # VHT160 3SS has no MCS 9: MCS 8
        ("wr_he(20, 1, 11)", "143.4"), ("wr_he(40, 2, 11)", "573.5"), ("wr_he(80, 2, 11)", "1201.0"),
        ("wr_he(160, 2, 11)", "2402.0"), ("wr_he(80, 4, 11)", "2402.0"), ("wr_he(80, 1, 9)", "480.4"),
    ]
    prog = tmp_path / "t.awk"
    prog.write_text("BEGIN {\n%s}\n" % "".join('printf "%%.1f\\n", %s\n' % c for c, _ in cases))
    r = subprocess.run(awk + ["-f", AWK, "-f", str(prog)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [v for _, v in cases]


@pytest.mark.parametrize("awk", AWKS)
def test_real_radios(awk, tmp_path):
    # QCA9880 3x3 VHT80 short GI; ath9k 3x3 HT40 short GI (its 5 GHz band too)
    assert rates(awk, os.path.join(IW, "gfiber-qca9880-ar9380.txt"), tmp_path) == {"phy1": "1300", "phy0": "450"}
    # MT7921AUN 2x2: HE80 at 5 GHz beats VHT80 (867) and HE40 at 2.4 GHz (574)
    assert rates(awk, os.path.join(IW, "mt7921aun-excerpt.txt"), tmp_path) == {"phy0": "1201"}
    # its 2.4 GHz band alone: HE40 2x2 MCS 11
    with open(os.path.join(IW, "mt7921aun-excerpt.txt")) as f:
        text = f.read()
    band1 = tmp_path / "band1.txt"
    band1.write_text(text[:text.index("\tBand 2:")])
    assert rates(awk, str(band1), tmp_path) == {"phy0": "574"}
    # VHT with 160 MHz ("neither 160 nor 80+80" above is not)
    vht160 = tmp_path / "vht160.txt"
    vht160.write_text("Wiphy phy5\n\tBand 2:\n\t\tVHT Capabilities (0x339071f6):\n"
                      "\t\t\tSupported Channel Width: 160 MHz\n\t\t\tshort GI (80 MHz)\n"
                      "\t\t\tshort GI (160/80+80 MHz)\n\t\tVHT RX MCS set:\n\t\t\t1 streams: MCS 0-9\n"
                      "\t\t\t2 streams: MCS 0-9\n\t\t\t3 streams: not supported\n")
    assert rates(awk, str(vht160), tmp_path) == {"phy5": "1733"}
    # 802.11n only, without HT40: HT20 2x2 long GI
    ht20 = tmp_path / "ht20.txt"
    ht20.write_text("Wiphy phy9\n\tBand 1:\n\t\tCapabilities: 0x1\n\t\t\tRX LDPC\n"
                    "\t\tHT TX/RX MCS rate indexes supported: 0-15, 32\n")
    assert rates(awk, str(ht20), tmp_path) == {"phy9": "130"}
    # legacy only; no capability at all
    legacy = tmp_path / "legacy.txt"
    legacy.write_text("Wiphy phy3\n\tBand 1:\n\t\tBitrates (non-HT):\n\t\t\t* 1.0 Mbps\n\t\t\t* 11.0 Mbps\n"
                      "Wiphy phy4\n\tmax # scan SSIDs: 4\n")
    assert rates(awk, str(legacy), tmp_path) == {"phy3": "11", "phy4": ""}
