# wifirate.awk: WiFi.Radio.{i}.MaxBitRate, the highest PHY rate (Mbps) a
# radio supports, from its capabilities as `iw phy PHY info` prints them
# (iw's info.c and util.c: "Band N:", the HT "Capabilities" flags "HT20/HT40",
# "RX HT20 SGI", "RX HT40 SGI", "HT TX/RX MCS rate indexes supported: 0-23";
# "VHT Capabilities" with "Supported Channel Width: ...", "short GI (80 MHz)",
# "short GI (160/80+80 MHz)" and "VHT RX MCS set:" then "N streams: MCS 0-9";
# "HE PHY Capabilities" with "HE40/2.4GHz", "HE40/HE80/5GHz", "HE160/5GHz"
# and "HE RX MCS and NSS set <= 80 MHz" / "... 160 MHz" then "N streams:
# MCS 0-11"; "Bitrates (non-HT):" then "* 54.0 Mbps"). POSIX awk.
#
# Feed each line of a phy's output with wr_line(PHY, LINE); wr_max(PHY) is
# then the rate, "" when the output named no capability. The rate of each
# supported combination is computed as IEEE 802.11 defines it: streams x
# data subcarriers x bits per subcarrier x coding rate / symbol time (HT
# and VHT: 52, 108, 234, 468 subcarriers at 20, 40, 80, 160 MHz, 4 us
# symbols, 3.6 us with a short guard interval; HE: 234, 468, 980, 1960, 13.6
# us with the 0.8 us guard interval every HE device supports), leaving out
# the VHT combinations the standard excludes; the highest is rounded to the
# nearest Mbps (HT40 3x3 with short GI 450, VHT80 3x3 1300, HE80 2x2 1201).

function wr_line(p, l,    t, a, n, w, mcs, nss) {
	t = l
	sub(/^[ \t]+/, "", t)
	if (t ~ /^Band [0-9]+:/) {
		WRSEC[p] = ""
		WRHT40[p] = WRSGI20[p] = WRSGI40[p] = WRVSGI80[p] = WRVSGI160[p] = WRV160[p] = 0
		WRHE[p] = 20
		WRHE160[p] = 0
		return
	}
	if (t == "HT20/HT40") WRHT40[p] = 1
	else if (t == "RX HT20 SGI") WRSGI20[p] = 1
	else if (t == "RX HT40 SGI") WRSGI40[p] = 1
	else if (t ~ /^Supported Channel Width: 160 MHz/) WRV160[p] = 1
	else if (t == "short GI (80 MHz)") WRVSGI80[p] = 1
	else if (t ~ /^short GI \(160/) WRVSGI160[p] = 1
	else if (t ~ /^HE40\/2\.4GHz/ && WRHE[p] < 40) WRHE[p] = 40
	else if (t ~ /^HE40\/HE80\//) WRHE[p] = 80
	else if (t ~ /^HE160\//) WRHE160[p] = 1
	else if (t ~ /^HT (TX\/)?RX MCS rate indexes supported: [0-9]+-[0-9]+/) {
		n = t
		sub(/^[^:]*: [0-9]+-/, "", n)
		sub(/[^0-9].*$/, "", n)
		nss = int(n / 8) + 1
		w = WRHT40[p] ? 40 : 20
		wr_keep(p, wr_vht(w, nss, 7, w == 40 ? WRSGI40[p] : WRSGI20[p]))
	}
	else if (t == "VHT RX MCS set:") WRSEC[p] = "vht"
	else if (t ~ /^HE RX MCS and NSS set <= 80 MHz/) WRSEC[p] = "he"
	else if (t ~ /^HE RX MCS and NSS set 160 MHz/) WRSEC[p] = "he160"
	else if (t ~ /^[0-9]+ streams: MCS 0-[0-9]+$/ && WRSEC[p] != "") {
		split(t, a, " ")
		nss = a[1] + 0
		mcs = a[4]
		sub(/^0-/, "", mcs)
		mcs += 0
		if (WRSEC[p] == "vht") {
			wr_keep(p, wr_vht(80, nss, mcs, WRVSGI80[p]))
			if (WRV160[p]) wr_keep(p, wr_vht(160, nss, mcs, WRVSGI160[p]))
		} else if (WRSEC[p] == "he") wr_keep(p, wr_he(WRHE[p], nss, mcs))
		else if (WRHE160[p]) wr_keep(p, wr_he(160, nss, mcs))
	}
	else if (t ~ /^(VHT|HE) TX / || t ~ /^(VHT|HE) RX highest/ || t ~ /^PPE / || t ~ /^HE Iftypes:/) WRSEC[p] = ""
	else if (t ~ /^\* [0-9.]+ Mbps/) {
		split(t, a, " ")
		wr_keep(p, a[2] + 0)
	}
}

# data subcarriers of a channel width (MHz), and bits per subcarrier x
# coding rate of an MCS (0-11)
function wr_nsd(w, he) {
	if (he) return w == 20 ? 234 : w == 40 ? 468 : w == 80 ? 980 : 1960
	return w == 20 ? 52 : w == 40 ? 108 : w == 80 ? 234 : 468
}
function wr_bits(mcs) {
	return mcs == 0 ? 0.5 : mcs == 1 ? 1 : mcs == 2 ? 1.5 : mcs == 3 ? 2 : mcs == 4 ? 3 : mcs == 5 ? 4 : \
		mcs == 6 ? 4.5 : mcs == 7 ? 5 : mcs == 8 ? 6 : mcs == 9 ? 20 / 3 : mcs == 10 ? 7.5 : 25 / 3
}
# VHT combinations IEEE 802.11-2016 21.5 leaves out
function wr_vht_ok(w, nss, mcs) {
	if (w == 20 && mcs == 9) return nss == 3 || nss == 6
	if (w == 80 && mcs == 6) return nss != 3 && nss != 7
	if (w == 80 && mcs == 9) return nss != 6
	if (w == 160 && mcs == 9) return nss != 3
	return 1
}
function wr_vht(w, nss, mcs, sgi) {
	if (mcs > 9) mcs = 9
	while (mcs > 0 && !wr_vht_ok(w, nss, mcs)) mcs--
	return nss * wr_nsd(w, 0) * wr_bits(mcs) / (sgi ? 3.6 : 4)
}
function wr_he(w, nss, mcs) {
	if (mcs > 11) mcs = 11
	return nss * wr_nsd(w, 1) * wr_bits(mcs) / 13.6
}
function wr_keep(p, r) {
	if (r > WRMAX[p] + 0) WRMAX[p] = r
}
function wr_max(p) {
	return (p in WRMAX) ? sprintf("%.0f", WRMAX[p]) : ""
}
