# linux-wifi.awk: `iw dev`, `iw phy`, `iw dev X station dump` -> TR-181 WiFi.
#
# Sections: @DEV `iw dev`, @PHY `iw phy`, "@STA IFNAME" a station dump.
# Keys: radios by phy name, SSIDs and access points by interface name,
# associated devices by MAC address. Statistics of SSIDs: /proc/net/dev.

/^@STA / { sec = "STA"; ap = $2; next }
/^@/ { sec = substr($0, 2); next }

sec == "DEV" && /^phy#/ { phy = "phy" substr($1, 5); next }
sec == "DEV" && $1 == "Interface" { ifn = $2; NIF++; IFN[NIF] = ifn; IPHY[ifn] = phy; next }
sec == "DEV" && $1 == "addr" { IADDR[ifn] = tolower($2); next }
sec == "DEV" && $1 == "ssid" { s = $0; sub(/^[ \t]*ssid /, "", s); ISSID[ifn] = s; next }
sec == "DEV" && $1 == "type" { ITYPE[ifn] = $2; next }
sec == "DEV" && $1 == "channel" {
	ICHAN[ifn] = $2
	f = $3
	gsub(/[^0-9]/, "", f)
	IFREQ[ifn] = f
	if (match($0, /width: [0-9]+/)) IWIDTH[ifn] = substr($0, RSTART + 7, RLENGTH - 7)
	next
}

sec == "PHY" && $1 == "Wiphy" { p = $2; PHYS[++NPHY] = p; next }
sec == "PHY" && p != "" { wr_line(p, $0) }
sec == "PHY" && $1 == "Band" { band = $2; sub(/:/, "", band); BANDS[p] = BANDS[p] " " band; next }
sec == "PHY" && $1 == "*" && $3 == "MHz" && $4 ~ /^\[[0-9]+\]$/ {
	if ($0 ~ /disabled/) next
	ch = $4
	gsub(/[^0-9]/, "", ch)
	CHANS[p, bandof($2)] = CHANS[p, bandof($2)] (CHANS[p, bandof($2)] == "" ? "" : ",") ch
	next
}

sec == "STA" && $1 == "Station" { mac = tolower($2); NST++; SAP[NST] = ap; SMAC[NST] = mac; next }
sec == "STA" && NST {
	line = $0
	sub(/^[ \t]+/, "", line)
	k = line
	sub(/:.*/, "", k)
	v = line
	sub(/^[^:]*:[ \t]*/, "", v)
	SV[NST, k] = v
}

function bandof(mhz) {
	mhz += 0
	return mhz < 3000 ? "2.4GHz" : mhz < 5935 ? "5GHz" : mhz < 7200 ? "6GHz" : ""
}

function up(n) { return hex(readfile("/sys/class/net/" n "/flags")) % 2 }

function mbit2kbps(v) {
	v = v + 0
	return sprintf("%.0f", v * 1000)
}

END {
	read_stats()
	nr = ns = na = 0
	for (i = 1; i <= NPHY; i++) {
		p = PHYS[i]
		r = "Device.WiFi.Radio.{" p "}."
		nr++
		on = 0; band = ""; chan = ""; width = ""
		for (j = 1; j <= NIF; j++) {
			n = IFN[j]
			if (IPHY[n] != p) continue
			if (up(n)) on = 1
			if (ICHAN[n] != "") { chan = ICHAN[n]; band = bandof(IFREQ[n]); width = IWIDTH[n] }
		}
		sup = ""
		nb = split(BANDS[p], bl, " ")
		for (j = 1; j <= nb; j++) {
			b = bl[j] == 1 ? "2.4GHz" : bl[j] == 2 ? "5GHz" : bl[j] == 4 ? "6GHz" : ""
			if (b != "" && index("," sup ",", "," b ",") == 0) sup = sup (sup == "" ? "" : ",") b
		}
		emit(r "Enable", bool(on))
		emit(r "Status", on ? "Up" : "Down")
		emit(r "Alias", "cpe-" p)
		emit(r "Name", p)
		if (wr_max(p) != "") emit(r "MaxBitRate", wr_max(p))
		if (sup != "") emit(r "SupportedFrequencyBands", sup)
		if (band != "") {
			emit(r "OperatingFrequencyBand", band)
			if (CHANS[p, band] != "") emit(r "PossibleChannels", CHANS[p, band])
		}
		if (chan != "") {
			emit(r "Channel", chan)
			emit(r "ChannelsInUse", chan)
		}
		if (width ~ /^(20|40|80|160|320)$/) emit(r "CurrentOperatingChannelBandwidth", width "MHz")
	}
	for (j = 1; j <= NIF; j++) {
		n = IFN[j]
		s = "Device.WiFi.SSID.{" n "}."
		ns++
		emit(s "Enable", bool(up(n)))
		emit(s "Status", up(n) ? "Up" : "Down")
		emit(s "Alias", "cpe-" n)
		emit(s "Name", n)
		emit(s "LowerLayers", IPHY[n] != "" ? "Device.WiFi.Radio.{" IPHY[n] "}" : "")
		emit(s "BSSID", IADDR[n])
		emit(s "MACAddress", IADDR[n])
		emit(s "SSID", ISSID[n])
		if (n in RXB) {
			emit(s "Stats.BytesSent", TXB[n])
			emit(s "Stats.BytesReceived", RXB[n])
			emit(s "Stats.PacketsSent", TXP[n])
			emit(s "Stats.PacketsReceived", RXP[n])
			emit(s "Stats.ErrorsSent", sprintf("%.0f", TXE[n] % 4294967296))
			emit(s "Stats.ErrorsReceived", sprintf("%.0f", RXE[n] % 4294967296))
			emit(s "Stats.DiscardPacketsSent", sprintf("%.0f", TXD[n] % 4294967296))
			emit(s "Stats.DiscardPacketsReceived", sprintf("%.0f", RXD[n] % 4294967296))
		}
		if (ITYPE[n] != "AP") continue
		a = "Device.WiFi.AccessPoint.{" n "}."
		na++
		emit(a "Enable", bool(up(n)))
		emit(a "Status", up(n) ? "Enabled" : "Disabled")
		emit(a "Alias", "cpe-" n)
		emit(a "SSIDReference", "Device.WiFi.SSID.{" n "}")
		c = 0
		for (k = 1; k <= NST; k++) {
			if (SAP[k] != n) continue
			c++
			q = a "AssociatedDevice.{" SMAC[k] "}."
			emit(q "MACAddress", SMAC[k])
			emit(q "AuthenticationState", bool(SV[k, "authorized"] == "yes"))
			emit(q "Active", "true")
			if (SV[k, "tx bitrate"] != "") emit(q "LastDataDownlinkRate", mbit2kbps(SV[k, "tx bitrate"]))
			if (SV[k, "rx bitrate"] != "") emit(q "LastDataUplinkRate", mbit2kbps(SV[k, "rx bitrate"]))
			if (SV[k, "signal"] != "") emit(q "SignalStrength", SV[k, "signal"] + 0)
			if (SV[k, "tx bytes"] != "") emit(q "Stats.BytesSent", SV[k, "tx bytes"])
			if (SV[k, "rx bytes"] != "") emit(q "Stats.BytesReceived", SV[k, "rx bytes"])
			if (SV[k, "tx packets"] != "") emit(q "Stats.PacketsSent", SV[k, "tx packets"])
			if (SV[k, "rx packets"] != "") emit(q "Stats.PacketsReceived", SV[k, "rx packets"])
			if (SV[k, "tx failed"] != "") emit(q "Stats.ErrorsSent", SV[k, "tx failed"] % 4294967296)
			if (SV[k, "tx retries"] != "") emit(q "Stats.RetransCount", SV[k, "tx retries"] % 4294967296)
		}
		emit(a "AssociatedDeviceNumberOfEntries", c)
	}
	emit("Device.WiFi.RadioNumberOfEntries", nr)
	emit("Device.WiFi.SSIDNumberOfEntries", ns)
	emit("Device.WiFi.AccessPointNumberOfEntries", na)
}
