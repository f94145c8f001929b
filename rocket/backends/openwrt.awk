# openwrt.awk: the OpenWrt data model, from what the `openwrt` backend
# collected in one run (see that script). POSIX awk (busybox awk, mawk, gawk).
#
# Input (stdin): sections, each opened by a line "@@KIND NAME":
#   @@uci CONFIG           `uci -q -X show CONFIG`
#   @@ubus OBJECT METHOD   `ubus call OBJECT METHOD` (JSON, any layout)
#   @@iwinfo DEV CMD       `iwinfo DEV CMD` (info, assoclist, txpowerlist, freqlist)
#   @@ethtool DEV          `ethtool -S DEV` (a switch port's MIB counters)
#   @@iw PHY               `iw phy PHY info` (wifirate.awk: the radio's MaxBitRate)
#   @@swport SWITCH N      `swconfig dev SWITCH port N show` (a switch port's link, MIB)
#   @@board                /etc/board.json (the switch ports' roles and labels)
#   @@date                 `date +%s %z`
# Files are read here directly, under the root prefix R (tests): /proc/...,
# /sys/class/net/DEV/..., /tmp/dhcp.leases, /etc/passwd, /etc/shadow.
# Variables: R (root prefix), PROCS (the /proc/PID/stat paths), NETDIRS
# (the /sys/class/net/* paths), ZONES (/sys/class/thermal/thermal_zone*),
# STATE (a file keeping temperature extremes and the previous CPU sample
# between runs; empty: none), LCFILE (lastchange.awk's file; empty: none).
#
# Output: backend records (PATH TAB VALUE [TAB TYPE]), escaped as
# rocket/backends/README.md says. Instances are written "{KEY}" with a stable
# key (uci section name, device name, MAC address, PID...): the agent maps
# keys to instance numbers that never change or get reused.
# Nothing is invented: a value the device does not give is left out, except
# the documented defaults of OpenWrt's own tools (see openwrt.README.md).

function esc(v,    o, i, c, n) {
	if (v !~ /[[:cntrl:]\\]/)
		return v
	o = ""
	n = length(v)
	for (i = 1; i <= n; i++) {
		c = substr(v, i, 1)
		if (c == "\\") o = o "\\\\"
		else if (c == "\t") o = o "\\t"
		else if (c == "\n") o = o "\\n"
		else if (c == "\r") o = o "\\r"
		else if (c in CTL) o = o sprintf("\\0%03o", CTL[c])
		else o = o c
	}
	return o
}

function emit(p, v) { if (index(p, "}.")) aliases(p); printf "%s\t%s\n", esc(p), esc(v) }
function emitt(p, v, t) { if (index(p, "}.")) aliases(p); printf "%s\t%s\t%s\n", esc(p), esc(v), t }
# Alias of each new instance of a table that has one: "cpe-" and its key
# (TR-181: a CPE-assigned Alias starts with "cpe-" and never changes; the key
# does not either)
function aliases(p,    i, pre, rest, k, g) {
	pre = ""
	rest = p
	while ((i = index(rest, "}.")) > 0) {
		pre = pre substr(rest, 1, i + 1)
		rest = substr(rest, i + 2)
		if (pre in ALSEEN) continue
		ALSEEN[pre] = 1
		g = pre
		gsub(/\{[^}]*\}/, "{i}", g)
		if (!(g in ALIASED)) continue
		k = substr(pre, 1, length(pre) - 2)
		sub(/.*\{/, "", k)
		gsub(/[^A-Za-z0-9_-]/, "-", k)
		printf "%s\t%s\n", esc(pre "Alias"), substr("cpe-" k, 1, 64)
	}
}
function obj(p) { print esc(p) }
function key(k) { gsub(/[{}\t\n]/, "_", k); return "{" k "}" }
function bool(x) { return x ? "true" : "false" }
function isnum(x) { return x ~ /^-?[0-9]+$/ }

# ------------------------------------------------------------------ JSON
# jparse(TEXT, NAME): J[NAME "/" path] = scalar, J[... "#"] = element or
# key count, JK[path, i] = i-th key of an object (1-based), arrays indexed
# from 0. Strings are unescaped (\uXXXX above 0x7F becomes UTF-8).
function jparse(text, name) {
	JT = text
	JP = 1
	JN = length(text)
	jval(name)
}
function jws(   s) {
	# (bounded substr: copying the rest of the text each time is quadratic)
	while (JP <= JN) {
		s = substr(JT, JP, 64)
		if (!match(s, /^[ \t\n\r]+/))
			return
		JP += RLENGTH
		if (RLENGTH < 64)
			return
	}
}
function jval(path,    c, n, k, s) {
	jws()
	c = substr(JT, JP, 1)
	if (c == "{") {
		JP++
		n = 0
		jws()
		if (substr(JT, JP, 1) == "}") { JP++; J[path "#"] = 0; return }
		while (JP <= JN) {
			jws()
			k = jstr()
			jws()
			JP++ # ':'
			n++
			JK[path, n] = k
			jval(path "/" k)
			jws()
			c = substr(JT, JP, 1)
			JP++
			if (c != ",") break
		}
		J[path "#"] = n
		return
	}
	if (c == "[") {
		JP++
		n = 0
		jws()
		if (substr(JT, JP, 1) == "]") { JP++; J[path "#"] = 0; return }
		while (JP <= JN) {
			jval(path "/" n)
			n++
			jws()
			c = substr(JT, JP, 1)
			JP++
			if (c != ",") break
		}
		J[path "#"] = n
		return
	}
	if (c == "\"") { J[path] = jstr(); return }
	s = substr(JT, JP, 64)
	if (match(s, /^[-+0-9.eE]+|^true|^false|^null/)) {
		J[path] = substr(s, 1, RLENGTH)
		JP += RLENGTH
	} else
		JP = JN + 1 # garbage: stop
}
function jstr(    o, s, i, c, h) {
	if (substr(JT, JP, 1) != "\"") return ""
	JP++
	o = ""
	while (JP <= JN) {
		s = substr(JT, JP, 256)
		i = match(s, /["\\]/)
		if (!i) { o = o s; JP += length(s); continue }
		o = o substr(s, 1, i - 1)
		JP += i
		c = substr(s, i, 1)
		if (c == "\"") return o
		c = substr(JT, JP, 1)
		JP++
		if (c == "n") o = o "\n"
		else if (c == "t") o = o "\t"
		else if (c == "r") o = o "\r"
		else if (c == "b") o = o "\b"
		else if (c == "f") o = o "\f"
		else if (c == "u") { h = hex(substr(JT, JP, 4)); JP += 4; o = o utf8(h) }
		else o = o c
	}
	return o
}
function hex(s,    i, n, c) {
	n = 0
	s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (!c) return n
		n = n * 16 + c - 1
	}
	return n
}
function utf8(c) {
	if (c < 128) return c == 0 ? "" : CHR[c]
	if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
	return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
}
function jget(p) { return (p in J) ? J[p] : "" }
function jn(p) { return (p "#" in J) ? J[p "#"] + 0 : 0 }
function jhas(p) { return (p in J) || (p "#" in J) }

# ------------------------------------------------------------------ uci
# `uci -X show` lines: cfg.sec=type, cfg.sec.opt='v' ['v2' ...].
# U[cfg, sec, opt] = value (list items joined by LS), UL[...] = item count,
# SECN[cfg] sections, SEC[cfg, i] name, STYPE[cfg, sec] type.
function uline(cfg, l,    k, v, n, sec, opt) {
	n = index(l, "=")
	if (!n) return
	k = substr(l, 1, n - 1)
	v = substr(l, n + 1)
	if (substr(k, 1, length(cfg) + 1) != cfg ".") return
	k = substr(k, length(cfg) + 2)
	n = index(k, ".")
	if (!n) {
		SECN[cfg]++
		SEC[cfg, SECN[cfg]] = k
		STYPE[cfg, k] = v
		return
	}
	sec = substr(k, 1, n - 1)
	opt = substr(k, n + 1)
	U[cfg, sec, opt] = unq(v)
	UL[cfg, sec, opt] = UQN
}
function unq(s,    o, c, n) {
	o = ""
	UQN = 1
	while (s != "") {
		c = substr(s, 1, 1)
		if (c == "'") {
			s = substr(s, 2)
			n = index(s, "'")
			if (!n) { o = o s; break }
			o = o substr(s, 1, n - 1)
			s = substr(s, n + 1)
		} else if (substr(s, 1, 2) == "\\'") {
			o = o "'"
			s = substr(s, 3)
		} else if (c == " ") {
			o = o LS
			UQN++
			s = substr(s, 2)
		} else {
			o = o c
			s = substr(s, 2)
		}
	}
	return o
}
function u(cfg, sec, opt, dflt) { return ((cfg, sec, opt) in U) ? U[cfg, sec, opt] : dflt }
function uhas(cfg, sec, opt) { return (cfg, sec, opt) in U }
# ulist(cfg, sec, opt, arr): items -> arr[1..n], returns n (0 if unset)
function ulist(cfg, sec, opt, arr) {
	if (!((cfg, sec, opt) in U) || U[cfg, sec, opt] == "") return 0
	return split(U[cfg, sec, opt], arr, LS)
}
function utrue(v) { return v == "1" || v == "on" || v == "true" || v == "yes" || v == "enabled" }

# ------------------------------------------------------------------ files
function readfile(f,    l, o, first) {
	o = ""
	first = 1
	while ((getline l < f) > 0) {
		o = first ? l : o "\n" l
		first = 0
	}
	close(f)
	return o
}
# seconds left of the lease udhcpc holds on DEV, -1 for an infinite one, from
# the line "UPTIME LEASE SERVER" the dhcp-udhcpc hook (installed in
# /etc/udhcpc.user.d/) wrote at bound or renew; "" without one, or one from
# before the last boot
function leaseleft(dev,    f, l, a, up) {
	if (dev == "" || dev ~ /\//) return ""
	f = R "/var/run/rocket-udhcpc/" dev
	l = ""
	if ((getline l < f) <= 0) { close(f); return "" }
	close(f)
	if (split(l, a, " ") < 2 || a[1] !~ /^[0-9]+$/ || a[2] !~ /^[0-9]+$/) return ""
	if (a[2] == 4294967295) return -1
	up = int(line1(R "/proc/uptime"))
	if (a[1] + 0 > up) return ""
	return a[2] - (up - a[1]) > 0 ? a[2] - (up - a[1]) : 0
}
function line1(f,    l) {
	l = ""
	if ((getline l < f) <= 0) l = ""
	close(f)
	return l
}

# ------------------------------------------------------------------ helpers
function mask2bits(m,    a, n, i, b, x) {
	if (m ~ /^[0-9]+$/) return m + 0
	n = split(m, a, ".")
	b = 0
	for (i = 1; i <= n; i++) {
		x = a[i] + 0
		while (x > 0) { b += x % 2; x = int(x / 2) }
	}
	return b
}
function bits2mask(b,    o, i, x) {
	b += 0
	o = ""
	for (i = 0; i < 4; i++) {
		x = b >= 8 ? 255 : (b <= 0 ? 0 : 256 - p2(8 - b))
		b -= 8
		o = o (i ? "." : "") x
	}
	return o
}
# 2 to the power N (no "^": busybox awk may lack math support)
function p2(n,    r) {
	r = 1
	while (n-- > 0) r *= 2
	return r
}
function ip2n(ip,    a) {
	if (split(ip, a, ".") != 4) return -1
	return ((a[1] * 256 + a[2]) * 256 + a[3]) * 256 + a[4]
}
function n2ip(n) {
	return int(n / 16777216) % 256 "." int(n / 65536) % 256 "." int(n / 256) % 256 "." n % 256
}
function hexip_le(h) { # /proc/net/route: little-endian hex
	return hex(substr(h, 7, 2)) "." hex(substr(h, 5, 2)) "." hex(substr(h, 3, 2)) "." hex(substr(h, 1, 2))
}
# 32 hex digits -> compressed IPv6 text
function hex6(h,    g, i, o, best, bl, cur, cl, x) {
	for (i = 0; i < 8; i++) g[i] = sprintf("%x", hex(substr(h, i * 4 + 1, 4)))
	best = -1; bl = 0; cur = -1; cl = 0
	for (i = 0; i < 8; i++) {
		if (g[i] == "0") {
			if (cur < 0) { cur = i; cl = 0 }
			cl++
			if (cl > bl) { best = cur; bl = cl }
		} else
			cur = -1
	}
	if (bl < 2) best = -1
	o = ""
	for (i = 0; i < 8; i++) {
		if (i == best) { o = o "::"; i += bl - 1; continue }
		x = (o == "" || substr(o, length(o)) == ":") ? "" : ":"
		o = o x g[i]
	}
	return o
}
function iso(t,    d, s, y, m, days, md) {
	# seconds since the epoch -> UTC dateTime (no forks)
	if (t == "" || t < 0) return ""
	t = int(t)
	d = int(t / 86400)
	s = t % 86400
	y = 1970
	while (1) {
		days = (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365
		if (d < days) break
		d -= days
		y++
	}
	split("31 28 31 30 31 30 31 31 30 31 30 31", md, " ")
	if (days == 366) md[2] = 29
	for (m = 1; d >= md[m]; m++) d -= md[m]
	return sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d + 1, int(s / 3600), int(s / 60) % 60, s % 60)
}
function txt2hex(s,    i, o) {
	o = ""
	for (i = 1; i <= length(s); i++) o = o sprintf("%02x", ORD[substr(s, i, 1)])
	return o
}
function ips2hex(s,    a, n, i, o, b, j) {
	n = split(s, a, /[, ]+/)
	o = ""
	for (i = 1; i <= n; i++) {
		if (a[i] == "") continue
		if (split(a[i], b, ".") != 4) return ""
		for (j = 1; j <= 4; j++) o = o sprintf("%02x", b[j])
	}
	return o
}
# DHCP option text as dnsmasq takes it -> hexBinary of the option payload
function opt2hex(tag, v,    h) {
	if (tag == 1 || tag == 3 || tag == 6 || tag == 28 || tag == 42 || tag == 44 || tag == 54) {
		h = ips2hex(v)
		if (h != "") return h
	}
	return txt2hex(v)
}
function macn(m) { return tolower(m) }
function lower_ref(dev) { return LOWER[dev] }
# the IP interface reference of a Linux device (its uci interface)
function ipref(dev) { return (dev in DEV2IF) ? "Device.IP.Interface." key(DEV2IF[dev]) "." : "" }

# ------------------------------------------------------------------ input
BEGIN {
	LS = "\037"
	for (i = 1; i < 128; i++) {
		c = sprintf("%c", i)
		ORD[c] = i
		CHR[i] = c
		if (i < 32 || i == 127) CTL[c] = i
	}
	for (i = 128; i < 256; i++) ORD[sprintf("%c", i)] = i
	n = split("Bridging.Bridge Bridging.Bridge.{i}.Port DHCPv4.Client DHCPv4.Client.{i}.ReqOption " \
		"DHCPv4.Client.{i}.SentOption DHCPv4.Server.Pool DHCPv4.Server.Pool.{i}.Client " \
		"DHCPv4.Server.Pool.{i}.Option DHCPv4.Server.Pool.{i}.StaticAddress DHCPv6.Client " \
		"DHCPv6.Client.{i}.SentOption DHCPv6.Server.Pool DHCPv6.Server.Pool.{i}.Client " \
		"DHCPv6.Server.Pool.{i}.Option DNS.Client.Server DNS.Relay.Forwarding DeviceInfo.Processor " \
		"DeviceInfo.TemperatureStatus.TemperatureSensor DeviceInfo.VendorConfigFile DeviceInfo.VendorLogFile " \
		"Ethernet.Interface Ethernet.Link Ethernet.VLANTermination Hosts.Host IP.Interface " \
		"IP.Interface.{i}.IPv4Address IP.Interface.{i}.IPv6Address IP.Interface.{i}.IPv6Prefix " \
		"NAT.InterfaceSetting NAT.PortMapping NeighborDiscovery.InterfaceSetting PPP.Interface " \
		"RouterAdvertisement.InterfaceSetting RouterAdvertisement.InterfaceSetting.{i}.Option " \
		"Routing.Router Routing.Router.{i}.IPv4Forwarding Routing.Router.{i}.IPv6Forwarding Users.User " \
		"WiFi.AccessPoint WiFi.Radio WiFi.SSID", a, " ")
	for (i = 1; i <= n; i++) ALIASED["Device." a[i] ".{i}."] = 1
	# switch MIB counters in `ethtool -S`: the mt7530/mt7531 DSA driver's
	# names, then qca8k's (QCA8337/8327: ar8327_mib of qca8k-common.c)
	n = split("TxUnicast: UnicastPacketsSent RxUnicast: UnicastPacketsReceived TxMulticast: MulticastPacketsSent " \
		"RxMulticast: MulticastPacketsReceived TxBroadcast: BroadcastPacketsSent RxBroadcast: BroadcastPacketsReceived " \
		"TXUnicast: UnicastPacketsSent RXUnicast: UnicastPacketsReceived TxMulti: MulticastPacketsSent " \
		"RxMulti: MulticastPacketsReceived TxBroad: BroadcastPacketsSent RxBroad: BroadcastPacketsReceived", a, " ")
	for (i = 1; i < n; i += 2) { CASTS[a[i]] = a[i + 1]; CASTNAME[a[i + 1]] = 1 }
	ODHCP6C_OPTS = "1,2,3,5,7,11,12,13,19,20,21,22,23,24,25,26,31,32,56,64,67,82,83,94,95,96"
	RAPREF[384] = "High"; RAPREF[512] = "Medium"; RAPREF[640] = "Low"
	kind = ""
}
/^@@/ {
	flush()
	kind = substr($1, 3)
	a1 = $2
	a2 = $3
	buf = ""
	nb = 0
	next
}
{
	if (kind == "uci") uline(a1, $0)
	else if (kind == "ethtool") { if (($1 in CASTS) && $2 ~ /^[0-9]+$/) MIB[a1, CASTS[$1]] = $2 }
	else if (kind == "swport") swline(a1, a2, $0)
	else if (kind == "iw") wr_line(a1, $0)
	else { buf = nb ? buf "\n" $0 : $0; nb++ }
}
function flush() {
	if (kind == "ubus") jparse(buf, a1 ~ /^network\./ ? a1 : a1 "." a2)
	else if (kind == "iwinfo") IW[a1, a2] = buf
	else if (kind == "date") { split(buf, DT, " "); NOW = DT[1] + 0; TZOFF = DT[2] }
	else if (kind == "mtime" && buf ~ /^[0-9]+$/) MTIME[a1] = buf
	else if (kind == "board") jparse(buf, "board")
	kind = ""
}

END {
	flush()
	# the device's clock: procd's local time less the zone offset (date's otherwise)
	if (jhas("system.info/localtime") && TZOFF ~ /^[-+][0-9][0-9][0-9][0-9]$/)
		NOW = jget("system.info/localtime") - (substr(TZOFF, 1, 1) == "-" ? -1 : 1) * (substr(TZOFF, 2, 2) * 3600 + substr(TZOFF, 4, 2) * 60)
	if (!NOW) NOW = 0
	HOSTNAME = jget("system.board/hostname")
	ARCH = ""
	f = R "/etc/openwrt_release"
	while ((getline l < f) > 0) if (l ~ /^DISTRIB_ARCH=/) { ARCH = l; sub(/^DISTRIB_ARCH=.?/, "", ARCH); sub(/['"]$/, "", ARCH) }
	close(f)
	load_files()
	model_net()
	out_deviceinfo()
	out_time()
	out_users()
	out_ethernet()
	out_bridging()
	out_wifi()
	out_ppp()
	out_ip()
	out_routing()
	out_nat()
	out_dns()
	out_dhcpv4()
	out_dhcpv6()
	out_ra()
	out_nd()
	out_hosts()
	out_firewall()
	save_state()
	lc_save()
}

# ------------------------------------------------------------------ files
function load_files(    f, l, a, n, i, d, dev, p, s) {
	# /proc/net/dev counters
	f = R "/proc/net/dev"
	while ((getline l < f) > 0) {
		if (!index(l, ":")) continue
		dev = substr(l, 1, index(l, ":") - 1)
		gsub(/ /, "", dev)
		n = split(substr(l, index(l, ":") + 1), a, " ")
		if (n < 16) continue
		ND[dev] = 1
		RXB[dev] = a[1]; RXP[dev] = a[2]; RXE[dev] = a[3]; RXD[dev] = a[4]; RXM[dev] = a[8]
		TXB[dev] = a[9]; TXP[dev] = a[10]; TXE[dev] = a[11]; TXD[dev] = a[12]
	}
	close(f)
	# /sys/class/net/DEV: operstate, address, rx_nohandler, brport/state,
	# ifindex and carrier_changes (LastChange)
	n = split(NETDIRS, a, " ")
	for (i = 1; i <= n; i++) {
		d = a[i]
		dev = d
		sub(/.*\//, "", dev)
		if (dev == "*") continue
		SYSDEV[dev] = 1
		OPER[dev] = line1(d "/operstate")
		ADDR[dev] = line1(d "/address")
		l = line1(d "/statistics/rx_nohandler")
		if (l != "") NOHANDLER[dev] = l
		l = line1(d "/brport/state")
		if (l != "") BRSTATE[dev] = l
		LCSYS[dev] = line1(d "/ifindex") " " line1(d "/carrier_changes")
	}
	# temperature sensors
	n = split(ZONES, a, " ")
	for (i = 1; i <= n; i++) {
		l = line1(a[i] "/temp")
		if (l == "") continue
		d = a[i]
		sub(/.*\//, "", d)
		NZ++
		ZN[NZ] = d
		ZT[d] = int(l / 1000)
		ZTYPE[d] = line1(a[i] "/type")
	}
	load_state()
	# LastChange counts in seconds since boot (the wall clock jumps at the first NTP sync)
	if (LCFILE != "") lc_load(LCFILE, line1(R "/proc/sys/kernel/random/boot_id"), int(line1(R "/proc/uptime")))
	# DHCP leases: expiry mac ip name clientid
	f = (R u("dhcp", DNSMASQ, "leasefile", "/tmp/dhcp.leases"))
	while ((getline l < f) > 0) {
		if (split(l, a, " ") < 4) continue
		NL++
		LMAC[NL] = macn(a[2]); LEXP[NL] = a[1]; LIP[NL] = a[3]
		LNAME[NL] = a[4] == "*" ? "" : a[4]
		LCID[NL] = (a[5] == "*" || a[5] == "") ? "" : a[5]
	}
	close(f)
	# ARP
	f = R "/proc/net/arp"
	getline l < f
	while ((getline l < f) > 0) {
		if (split(l, a, " ") < 6) continue
		NA++
		AIP[NA] = a[1]; AFL[NA] = a[3]; AMAC[NA] = macn(a[4]); ADEV[NA] = a[6]
	}
	close(f)
	# link-local addresses (PPP IPv6CP interface identifiers)
	f = R "/proc/net/if_inet6"
	while ((getline l < f) > 0) {
		if (split(l, a, " ") < 6) continue
		if (substr(a[1], 1, 4) == "fe80") LLADDR[a[6]] = a[1]
	}
	close(f)
	# PPPoE sessions: Id Address Device
	f = R "/proc/net/pppoe"
	getline l < f
	while ((getline l < f) > 0) {
		if (split(l, a, " ") >= 3) PPPOESID[a[3]] = hex(a[1])
	}
	close(f)
	# CPU: /proc/stat first line
	l = line1(R "/proc/stat")
	if (split(l, a, " ") >= 5) {
		CPUBUSY = 0
		for (i = 2; i <= split(l, a, " "); i++) CPUBUSY += a[i]
		CPUIDLE = a[5] + a[6]
		CPUTOTAL = CPUBUSY
	}
	f = R "/proc/stat"
	while ((getline l < f) > 0) if (l ~ /^cpu[0-9]/) { NCPU++ }
	close(f)
}

function load_state(    l, a) {
	if (STATE == "") return
	while ((getline l < STATE) > 0) {
		split(l, a, " ")
		if (a[1] == "cpu") { PCPUT = a[2]; PCPUI = a[3] }
		else if (a[1] == "temp") { TMIN[a[2]] = a[3]; TMINT[a[2]] = a[4]; TMAX[a[2]] = a[5]; TMAXT[a[2]] = a[6]; TRES[a[2]] = a[7] }
	}
	close(STATE)
}
function save_state(    i, z, tmp) {
	if (STATE == "") return
	tmp = STATE ".new"
	printf "" > tmp
	if (CPUTOTAL != "") print "cpu", CPUTOTAL, CPUIDLE > tmp
	for (i = 1; i <= NZ; i++) {
		z = ZN[i]
		print "temp", z, TMIN[z], TMINT[z], TMAX[z], TMAXT[z], TRES[z] > tmp
	}
	close(tmp)
	system("mv -f '" tmp "' '" STATE "'")
}

# ------------------------------------------------------------------ model
# Interfaces (uci network, netifd dump), devices, the L2 stack.
function model_net(    i, n, s, t, dev, p, k, m, a, nm, z, j, r) {
	# dnsmasq section (first)
	for (i = 1; i <= SECN["dhcp"]; i++) {
		s = SEC["dhcp", i]
		if (STYPE["dhcp", s] == "dnsmasq" && DNSMASQ == "") DNSMASQ = s
	}
	# netifd dump: by interface name
	n = jn("network.interface/interface")
	for (i = 0; i < n; i++) {
		p = "network.interface/interface/" i
		nm = jget(p "/interface")
		DUMP[nm] = p
	}
	# uci interfaces, in order
	for (i = 1; i <= SECN["network"]; i++) {
		s = SEC["network", i]
		if (STYPE["network", s] != "interface") continue
		NIF++
		IFN[NIF] = s
		p = DUMP[s]
		dev = p != "" ? jget(p "/l3_device") : ""
		if (dev == "") {
			dev = u("network", s, "device", u("network", s, "ifname", ""))
			sub(/ .*/, "", dev)
		}
		if (dev ~ /^@/) {
			t = substr(dev, 2)
			dev = DUMP[t] != "" ? jget(DUMP[t] "/l3_device") : ""
		}
		IFDEV[s] = dev
		IFPROTO[s] = u("network", s, "proto", "none")
		IFUP[s] = p != "" && jget(p "/up") == "true"
		# the lower (L2) device: the interface's device option, or netifd's "device"
		t = u("network", s, "device", u("network", s, "ifname", ""))
		sub(/ .*/, "", t)
		if (t !~ /^@/ && p != "" && jget(p "/device") != "") t = jget(p "/device")
		IFL2[s] = t
		if (dev != "" && !(dev in DEV2IF)) DEV2IF[dev] = s
	}
	# firewall zones: network -> zone; masq networks
	for (i = 1; i <= SECN["firewall"]; i++) {
		s = SEC["firewall", i]
		if (STYPE["firewall", s] != "zone") continue
		z = u("firewall", s, "name", s)
		ZONESEC[z] = s
		m = ulist("firewall", s, "network", a)
		for (j = 1; j <= m; j++) {
			NETZONE[a[j]] = z
			ZNETS[z] = ZNETS[z] (ZNETS[z] == "" ? "" : LS) a[j]
		}
	}
	# devices netifd knows
	n = jn("network.device")
	for (i = 1; i <= n; i++) {
		dev = JK["network.device", i]
		p = "network.device/" dev
		DTYPE[dev] = jget(p "/type")
		if (jget(p "/wireless") == "true") WIRELESSDEV[dev] = 1
		m = jn(p "/bridge-members")
		for (j = 0; j < m; j++) {
			t = jget(p "/bridge-members/" j)
			BRMEM[dev] = BRMEM[dev] (BRMEM[dev] == "" ? "" : LS) t
			BROF[t] = dev
		}
	}
	# Wi-Fi: section -> ifname, radio
	n = jn("network.wireless")
	for (i = 1; i <= n; i++) {
		r = JK["network.wireless", i]
		p = "network.wireless/" r
		m = jn(p "/interfaces")
		for (j = 0; j < m; j++) {
			s = jget(p "/interfaces/" j "/section")
			t = jget(p "/interfaces/" j "/ifname")
			if (t != "") { WIFNAME[s] = t; WDEV2SEC[t] = s }
		}
		RADIOUP[r] = jget(p "/up") == "true"
	}
	# physical Ethernet devices: netifd "Network device", not wireless, not lo
	for (i = 1; i <= jn("network.device"); i++) {
		dev = JK["network.device", i]
		if (DTYPE[dev] == "Network device" && !(dev in WIRELESSDEV) && dev != "lo" && !(dev in WDEV2SEC)) {
			NETH++
			ETH[NETH] = dev
			ISETH[dev] = 1
		}
	}
	# the L2 stack of each device, as TR-181 references
	for (i = 1; i <= jn("network.device"); i++) {
		dev = JK["network.device", i]
		if (DTYPE[dev] == "VLAN" || (dev ~ /\.[0-9]+$/ && DTYPE[dev] != "bridge")) {
			VLAN[dev] = 1
			t = dev
			sub(/\.[0-9]+$/, "", t)
			VLANBASE[dev] = t
			LINK[t] = 1
		}
	}
	for (s in IFL2) {
		dev = IFL2[s]
		if (dev == "" || dev ~ /^@/ || dev == "lo") continue
		if (!(dev in VLAN) && !(dev in WDEV2SEC)) LINK[dev] = 1
	}
}

# L2 reference for what an IP/PPP interface or bridge port sits on
function l2ref(dev) {
	if (dev in VLAN) return "Device.Ethernet.VLANTermination." key(dev) "."
	if (dev in WDEV2SEC) return "Device.WiFi.SSID." key(WDEV2SEC[dev]) "."
	if (dev in LINK) return "Device.Ethernet.Link." key(dev) "."
	return ""
}
function stack(hi, lo) {
	if (hi == "" || lo == "") return
	NST++
	STHI[NST] = hi
	STLO[NST] = lo
}

# uc: 1 with the multicast and unknown-protocol receive counters, 2 also
# with a switch port's unicast, multicast and broadcast counters (MIB), 3
# also with those of a point-to-point (PPP) link, which has no multicast or
# broadcast address at its layer: every packet is unicast (sent: those
# requested, the discarded and failed ones included, as TR-181 says)
function stats(p, dev, uc,    v, k) {
	if (!(dev in ND)) return
	emit(p "Stats.BytesSent", TXB[dev])
	emit(p "Stats.BytesReceived", RXB[dev])
	emit(p "Stats.PacketsSent", TXP[dev])
	emit(p "Stats.PacketsReceived", RXP[dev])
	emit(p "Stats.ErrorsSent", TXE[dev])
	emit(p "Stats.ErrorsReceived", RXE[dev])
	emit(p "Stats.DiscardPacketsSent", TXD[dev])
	emit(p "Stats.DiscardPacketsReceived", RXD[dev])
	if (uc) {
		if (!(uc == 2 && (dev, "MulticastPacketsReceived") in MIB)) emit(p "Stats.MulticastPacketsReceived", RXM[dev])
		if (dev in NOHANDLER) emit(p "Stats.UnknownProtoPacketsReceived", NOHANDLER[dev])
	}
	if (uc == 2) for (k in CASTNAME) if ((dev, k) in MIB) emit(p "Stats." k, MIB[dev, k])
	if (uc == 3) {
		emit(p "Stats.UnicastPacketsSent", sprintf("%.0f", TXP[dev] + TXD[dev] + TXE[dev]))
		emit(p "Stats.UnicastPacketsReceived", RXP[dev])
		emit(p "Stats.MulticastPacketsSent", 0)
		emit(p "Stats.BroadcastPacketsSent", 0)
		emit(p "Stats.BroadcastPacketsReceived", 0)
	}
}
function devstatus(dev,    o) {
	o = OPER[dev]
	if (!(dev in SYSDEV) && !(("network.device/" dev "/up") in J)) return "NotPresent"
	if (o == "up" || o == "unknown" && jget("network.device/" dev "/up") != "false") return "Up"
	if (o == "dormant") return "Dormant"
	if (o == "lowerlayerdown") return "LowerLayerDown"
	if (("network.device/" dev "/up") in J) return jget("network.device/" dev "/up") == "true" && jget("network.device/" dev "/carrier") != "false" ? "Up" : "Down"
	return "Down"
}
# lastchange.awk: a device's state is its Status, carrier, ifindex and carrier_changes
function lcdev(p, dev) { lastchange(p, dev, devstatus(dev) " " jget("network.device/" dev "/carrier") " " LCSYS[dev]) }
function devmac(dev,    m) {
	m = jget("network.device/" dev "/macaddr")
	if (m == "") m = ADDR[dev]
	return toupper(m) == m ? tolower(m) : m
}

# ------------------------------------------------------------------ DeviceInfo
function out_deviceinfo(    p, b, i, pid, f, l, a, n, comm, st, z, busy, idle, s, arch) {
	p = "Device.DeviceInfo."
	b = "system.board"
	if (jhas(b "/release/description")) emit(p "Description", jget(b "/release/description"))
	if (jhas(b "/model")) emit(p "ModelName", jget(b "/model"))
	if (jhas(b "/release/version")) emit(p "SoftwareVersion", jget(b "/release/version"))
	if (jhas("system.info/uptime")) emit(p "UpTime", jget("system.info/uptime"))
	if (jhas("system.info/memory/total")) {
		emit(p "MemoryStatus.Total", int(jget("system.info/memory/total") / 1024))
		emit(p "MemoryStatus.Free", int(jget("system.info/memory/free") / 1024))
	}
	# CPU usage since the previous read (since boot on the first one)
	if (CPUTOTAL != "") {
		busy = CPUTOTAL - PCPUT - (CPUIDLE - PCPUI)
		idle = CPUTOTAL - PCPUT
		if (idle <= 0) { busy = CPUTOTAL - CPUIDLE; idle = CPUTOTAL }
		emit(p "ProcessStatus.CPUUsage", idle > 0 ? int(100 * busy / idle + 0.5) : 0)
	}
	n = split(PROCS, a, " ")
	np = 0
	for (i = 1; i <= n; i++) {
		l = line1(a[i])
		if (l == "") continue
		pid = l + 0
		s = index(l, "(")
		f = l
		while (match(f, /\) /)) { st = RSTART; f = substr(f, RSTART + 1) }
		comm = substr(l, s + 1)
		comm = substr(comm, 1, length(comm) - length(f) - 1)
		split(substr(f, 2), b2, " ")
		# b2: 1 state, 12 utime, 13 stime, 16 priority, 21 vsize
		np++
		q = p "ProcessStatus.Process." key(pid) "."
		emit(q "PID", pid)
		emit(q "Command", comm)
		emit(q "Size", int(b2[21] / 1024))
		emit(q "Priority", (b2[16] + 0 < 0) ? 0 : (b2[16] + 0 > 99 ? 99 : b2[16] + 0))
		emit(q "CPUTime", int((b2[12] + b2[13]) * 10))
		st = b2[1]
		emit(q "State", st == "R" ? "Running" : st == "S" ? "Sleeping" : (st == "T" || st == "t") ? "Stopped" : st == "D" ? "Uninterruptible" : st == "Z" ? "Zombie" : st == "I" ? "Idle" : "Sleeping")
	}
	if (PROCS != "") emit(p "ProcessStatus.ProcessNumberOfEntries", np)
	# temperature sensors (thermal zones); extremes kept across reads
	for (i = 1; i <= NZ; i++) {
		z = ZN[i]
		if (TRES[z] == "") { TRES[z] = NOW; TMIN[z] = ZT[z]; TMINT[z] = NOW; TMAX[z] = ZT[z]; TMAXT[z] = NOW }
		if (ZT[z] < TMIN[z]) { TMIN[z] = ZT[z]; TMINT[z] = NOW }
		if (ZT[z] > TMAX[z]) { TMAX[z] = ZT[z]; TMAXT[z] = NOW }
		q = p "TemperatureStatus.TemperatureSensor." key(z) "."
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "Name", ZTYPE[z] != "" ? ZTYPE[z] : z)
		emit(q "Value", ZT[z])
		emit(q "LastUpdate", iso(NOW))
		emit(q "ResetTime", iso(TRES[z]))
		emit(q "MinValue", TMIN[z])
		emit(q "MinTime", iso(TMINT[z]))
		emit(q "MaxValue", TMAX[z])
		emit(q "MaxTime", iso(TMAXT[z]))
	}
	emit(p "TemperatureStatus.TemperatureSensorNumberOfEntries", NZ + 0)
	# processors
	arch = ARCH
	if (arch ~ /^mipsel/) arch = "mipsel"
	else if (arch ~ /^mips/) arch = "mipseb"
	else if (arch ~ /^(arm|aarch64)/) arch = "arm"
	else if (arch ~ /^x86_64/) arch = "x86_64"
	else if (arch ~ /^i[3-6]86/) arch = "i386"
	else if (arch ~ /^powerpc/) arch = "powerpc"
	else arch = ""
	for (i = 0; i < NCPU; i++) {
		q = p "Processor." key("cpu" i) "."
		if (arch != "") emit(q "Architecture", arch)
		else obj(q)
	}
	emit(p "ProcessorNumberOfEntries", NCPU + 0)
	# the uci configurations are the vendor configuration files
	nv = 0
	split("network wireless dhcp firewall system", a, " ")
	for (i = 1; i <= 5; i++) {
		if (!SECN[a[i]]) continue
		nv++
		q = p "VendorConfigFile." key(a[i]) "."
		emit(q "Name", a[i])
		emit(q "Description", "uci configuration /etc/config/" a[i])
		emit(q "UseForBackupRestore", "false")
	}
	emit(p "VendorConfigFileNumberOfEntries", nv)
	# the system log: logd's ring buffer, or its log file
	s = ""
	for (i = 1; i <= SECN["system"]; i++) if (STYPE["system", SEC["system", i]] == "system") { s = SEC["system", i]; break }
	if (s != "") {
		q = p "VendorLogFile." key("syslog") "."
		emit(q "Name", u("system", s, "log_file", "logread"))
		emit(q "MaximumSize", u("system", s, "log_size", "64") * 1024)
		emit(q "Persistent", bool(u("system", s, "log_file", "") ~ /^\/(overlay|etc|root|mnt)\//))
		emit(p "VendorLogFileNumberOfEntries", 1)
	}
}

# ------------------------------------------------------------------ Time
function out_time(    p, s, i, n, a, t) {
	p = "Device.Time."
	s = ""
	for (i = 1; i <= SECN["system"]; i++) if (STYPE["system", SEC["system", i]] == "system") { s = SEC["system", i]; break }
	if (!SECN["system"]) return
	emit(p "Enable", bool(u("system", "ntp", "enabled", "1") != "0"))
	# dnsmasq's ntp hotplug hook writes /var/state/dnsmasqsec at busybox
	# ntpd's first "stratum" event (synchronised since boot); without the
	# hook nothing says whether ntpd synchronised
	if (u("system", "ntp", "enabled", "1") == "0") emit(p "Status", "Disabled")
	else if (line1(R "/etc/hotplug.d/ntp/25-dnsmasqsec") != "")
		emit(p "Status", line1(R "/var/state/dnsmasqsec") != "" ? "Synchronized" : "Unsynchronized")
	n = ulist("system", "ntp", "server", a)
	for (i = 1; i <= 5; i++) emit(p "NTPServer" i, i <= n ? a[i] : "")
	if (s != "") emit(p "LocalTimeZone", u("system", s, "timezone", "UTC"))
	if (NOW && TZOFF ~ /^[-+][0-9][0-9][0-9][0-9]$/) {
		t = NOW + (substr(TZOFF, 1, 1) == "-" ? -1 : 1) * (substr(TZOFF, 2, 2) * 3600 + substr(TZOFF, 4, 2) * 60)
		t = iso(t)
		emit(p "CurrentLocalTime", substr(t, 1, 19) substr(TZOFF, 1, 3) ":" substr(TZOFF, 4, 2))
	}
}

# ------------------------------------------------------------------ Users
function out_users(    f, l, a, n, sh, pw) {
	f = R "/etc/shadow"
	while ((getline l < f) > 0) { split(l, a, ":"); SHADOW[a[1]] = a[2] }
	close(f)
	f = R "/etc/passwd"
	n = 0
	while ((getline l < f) > 0) {
		if (split(l, a, ":") < 7) continue
		# login accounts: a shell that is not /bin/false or nologin
		if (a[7] ~ /(false|nologin)$/ || a[7] == "") continue
		n++
		q = "Device.Users.User." key(a[1]) "."
		emit(q "Username", a[1])
		pw = (a[1] in SHADOW) ? SHADOW[a[1]] : a[2]
		emit(q "Enable", bool(pw !~ /^!/))
		emit(q "Password", "")
		emit(q "RemoteAccessCapable", "true")
		emit(q "Language", "")
	}
	close(f)
	if (n) emit("Device.Users.UserNumberOfEntries", n)
	# LuCI's login is root's password
	if ("root" in SHADOW) emit("Device.LANConfigSecurity.ConfigPassword", "")
}

# ------------------------------------------------------------------ Ethernet
function upstream(dev,    s, t) {
	for (s in IFL2) {
		if (!(NETZONE[s] != "" && u("firewall", ZONESEC[NETZONE[s]], "masq", "0") == "1")) continue
		t = IFL2[s]
		if (t ~ /^@/) t = IFL2[substr(t, 2)]
		if (t == dev || VLANBASE[t] == dev) return 1
	}
	return 0
}
function out_ethernet(    i, dev, p, sp, n, d, nl, nv) {
	for (i = 1; i <= NETH; i++) {
		dev = ETH[i]
		p = "Device.Ethernet.Interface." key(dev) "."
		d = "network.device/" dev
		emit(p "Enable", bool(jget(d "/up") == "true"))
		emit(p "Status", jget(d "/present") == "false" ? "NotPresent" : (jget(d "/carrier") == "true" ? "Up" : "Down"))
		emit(p "Name", dev)
		emit(p "MACAddress", devmac(dev))
		emit(p "Upstream", bool(upstream(dev)))
		sp = jget(d "/speed")
		if (sp ~ /^[0-9]+[FH]$/) {
			emit(p "CurrentBitRate", substr(sp, 1, length(sp) - 1))
			emit(p "DuplexMode", substr(sp, length(sp)) == "F" ? "Full" : "Half")
		} else if (jhas(d "/speed"))
			emit(p "DuplexMode", "Auto")
		n = maxrate(d "/link-supported")
		if (n) emit(p "MaxBitRate", n)
		lcdev(p, dev)
		stats(p, dev, 2)
		stack(p, "")
	}
	emit("Device.Ethernet.InterfaceNumberOfEntries", NETH + out_swports())
	nl = 0
	for (dev in LINK) {
		nl++
		p = "Device.Ethernet.Link." key(dev) "."
		emit(p "Enable", bool(jget("network.device/" dev "/up") != "false"))
		emit(p "Status", devstatus(dev))
		emit(p "Name", dev)
		emit(p "MACAddress", devmac(dev))
		if (dev in ISETH) lo = "Device.Ethernet.Interface." key(dev) "."
		else if (DTYPE[dev] == "bridge") lo = "Device.Bridging.Bridge." key(dev) ".Port." key(dev) "."
		else lo = ""
		emit(p "LowerLayers", lo)
		stack(p, lo)
		lcdev(p, dev)
		stats(p, dev, 1)
	}
	emit("Device.Ethernet.LinkNumberOfEntries", nl)
	nv = 0
	for (dev in VLAN) {
		nv++
		p = "Device.Ethernet.VLANTermination." key(dev) "."
		emit(p "Enable", bool(jget("network.device/" dev "/up") != "false"))
		emit(p "Status", devstatus(dev))
		emit(p "Name", dev)
		emit(p "VLANID", substr(dev, length(VLANBASE[dev]) + 2))
		lo = "Device.Ethernet.Link." key(VLANBASE[dev]) "."
		emit(p "LowerLayers", lo)
		stack(p, lo)
		lcdev(p, dev)
		stats(p, dev, 1)
	}
	emit("Device.Ethernet.VLANTerminationNumberOfEntries", nv)
}
# `swconfig dev SW port N show` (ar8216.c, cli.c): "\tlink: port:N link:up
# speed:1000baseT full-duplex txflow rxflow auto" or "... link:down", and
# the MIB as "NAME<spaces>: VALUE", TxByte and RxGoodByte with " (1.2 GiB)"
# ("No MIB data" when every counter is still 0)
function swline(sw, n, l,    k, v) {
	SWP[sw, n] = 1
	if (l ~ /^\tlink: /) SWLINK[sw, n] = substr(l, 8)
	else if (l == "\tmib: No MIB data") SWZERO[sw, n] = 1
	else if (l ~ /^[A-Za-z][A-Za-z0-9]* *: [0-9]+( |$)/) {
		k = l
		sub(/ *:.*/, "", k)
		v = l
		sub(/^[^:]*: /, "", v)
		sub(/ .*/, "", v)
		SWMIB[sw, n, k] = v
		SWNAME[sw, k] = 1
	}
}
# a port whose counters are all 0: those the switch shows (the basic MIB's
# bytes, and the names another of its ports has)
function swzero(sw, n,    x, b) {
	SWMIB[sw, n, "TxByte"] = SWMIB[sw, n, "RxGoodByte"] = 0
	for (x in SWNAME) {
		split(x, b, SUBSEP)
		if (b[1] == sw) SWMIB[sw, n, b[2]] = 0
	}
}
function swm(sw, n, k) { return SWMIB[sw, n, k] }
function swhas(sw, n, k) { return (sw, n, k) in SWMIB }
# a sum of MIB counters, when the switch shows all of them
function swsum(sw, n, list,    a, i, m, t) {
	m = split(list, a, " ")
	t = 0
	for (i = 1; i <= m; i++) {
		if (!swhas(sw, n, a[i])) return ""
		t += SWMIB[sw, n, a[i]]
	}
	return sprintf("%.0f", t)
}
# The front ports of swconfig switches (board.json's ports with a role) as
# Ethernet interfaces of their own, keyed SWITCH:PORT: link state, speed
# and duplex from swconfig's link line, counters from the ar8xxx driver's
# MIB (bytes always; casts and errors only with ar8xxx_mib_type 1, which
# adds them; no unicast counter exists). Returns how many were served.
function out_swports(    i, j, m, n, sw, q, num, role, p, l, st, v, sp, k) {
	n = 0
	for (i = 1; i <= jn("board/switch"); i++) {
		sw = JK["board/switch", i]
		m = jn("board/switch/" sw "/ports")
		for (j = 0; j < m; j++) {
			q = "board/switch/" sw "/ports/" j
			role = jget(q "/role")
			num = jget(q "/num")
			if (role == "" || !((sw, num) in SWP)) continue
			n++
			if ((sw, num) in SWZERO) swzero(sw, num)
			p = "Device.Ethernet.Interface." key(sw ":" num) "."
			l = SWLINK[sw, num]
			st = l ~ / link: ?up/ ? "Up" : l ~ / link: ?down/ ? "Down" : ""
			emit(p "Enable", "true")
			if (st != "") emit(p "Status", st)
			emit(p "Name", role jget(q "/index"))
			emit(p "Upstream", bool(role == "wan"))
			if (st == "Up" && match(l, /speed:[0-9]+baseT/)) {
				sp = substr(l, RSTART + 6, RLENGTH - 11)
				emit(p "CurrentBitRate", sp)
				if (l ~ / full-duplex/) emit(p "DuplexMode", "Full")
				else if (l ~ / half-duplex/) emit(p "DuplexMode", "Half")
			}
			if (st != "") lastchange(p, sw ":" num, st)
			if (swhas(sw, num, "TxByte")) emit(p "Stats.BytesSent", swm(sw, num, "TxByte"))
			v = swhas(sw, num, "RxBadByte") ? swsum(sw, num, "RxGoodByte RxBadByte") : swm(sw, num, "RxGoodByte")
			if (v != "") emit(p "Stats.BytesReceived", v)
			# the casts, by the names ethtool -S of qca8k's DSA ports has too
			for (k in CASTS) if (swhas(sw, num, substr(k, 1, length(k) - 1)))
				emit(p "Stats." CASTS[k], swm(sw, num, substr(k, 1, length(k) - 1)))
			# RFC 2665's ifInErrors and ifOutErrors of an Ethernet port
			v = swsum(sw, num, "RxFcsErr RxAlignErr RxTooLong")
			if (v != "") emit(p "Stats.ErrorsReceived", v)
			v = swsum(sw, num, "TxLateCol TxAbortCol TxUnderRun")
			if (v != "") emit(p "Stats.ErrorsSent", v)
		}
	}
	return n
}
function maxrate(p,    n, i, m, v) {
	n = jn(p)
	m = 0
	for (i = 0; i < n; i++) {
		v = jget(p "/" i)
		sub(/base.*/, "", v)
		if (v + 0 > m) m = v + 0
	}
	return m
}

# ------------------------------------------------------------------ Bridging
function out_bridging(    dev, nb, p, n, a, i, q, lo, all, st) {
	nb = 0
	for (dev in BRMEM) {
		nb++
		p = "Device.Bridging.Bridge." key(dev) "."
		emit(p "Enable", bool(jget("network.device/" dev "/up") != "false"))
		emit(p "Status", jget("network.device/" dev "/up") == "true" ? "Enabled" : "Disabled")
		emit(p "Standard", "802.1D-2004")
		n = split(BRMEM[dev], a, LS)
		all = ""
		for (i = 1; i <= n; i++) {
			q = p "Port." key(a[i]) "."
			all = all (all == "" ? "" : ",") q
			emit(q "Enable", "true")
			emit(q "Status", devstatus(a[i]))
			emit(q "Name", a[i])
			emit(q "ManagementPort", "false")
			lo = l2ref(a[i])
			if (lo == "" && (a[i] in ISETH)) lo = "Device.Ethernet.Interface." key(a[i]) "."
			emit(q "LowerLayers", lo)
			stack(q, lo)
			st = BRSTATE[a[i]]
			if (st != "") emit(q "PortState", st == 0 ? "Disabled" : st == 1 ? "Listening" : st == 2 ? "Learning" : st == 3 ? "Forwarding" : st == 4 ? "Blocking" : "Broken")
			lcdev(q, a[i])
			stats(q, a[i], 1)
		}
		q = p "Port." key(dev) "."
		emit(q "Enable", "true")
		emit(q "Status", devstatus(dev))
		emit(q "Name", dev)
		emit(q "ManagementPort", "true")
		emit(q "LowerLayers", all)
		n = split(all, a, ",")
		for (i = 1; i <= n; i++) stack(q, a[i])
		emit(q "PortState", "Forwarding")
		lcdev(q, dev)
		stats(q, dev, 1)
		emit(p "PortNumberOfEntries", split(BRMEM[dev], a, LS) + 1)
	}
	emit("Device.Bridging.BridgeNumberOfEntries", nb)
	# bridges are made in the network configuration, not through this model
	emit("Device.Bridging.MaxBridgeEntries", nb)
	emit("Device.Bridging.MaxDBridgeEntries", nb)
}

# ------------------------------------------------------------------ WiFi
function hwstd(hw,    o, n, a, i, m) {
	# iwinfo "HW Mode(s):": "802.11ac/ax/n" (newer), "802.11bgn" / "802.11nac" (older)
	sub(/^802\.11/, "", hw)
	if (index(hw, "/")) {
		n = split(hw, a, "/")
		for (i = 1; i <= n; i++) m[a[i]] = 1
	} else {
		for (i = 1; i <= 3; i++) {
			a[1] = i == 1 ? "ac" : i == 2 ? "ax" : "be"
			if (sub(a[1], "", hw)) m[a[1]] = 1
		}
		n = length(hw)
		for (i = 1; i <= n; i++) m[substr(hw, i, 1)] = 1
	}
	o = ""
	split("a b g n ac ax be", a, " ")
	for (i = 1; i <= 7; i++) if (a[i] in m) o = o "," a[i]
	return substr(o, 2)
}
function iwfield(txt, label,    i, s) {
	i = index(txt, label)
	if (!i) return ""
	s = substr(txt, i + length(label))
	sub(/^ +/, "", s)
	sub(/  .*|\n.*/, "", s)
	return s
}
function out_wifi(    i, n, r, s, p, q, dev, info, phy, ch, band, ht, w, std, a, m, j, nr, ns, na, tp, cur, mx, mw, lst, c, rate, nst, line, mac, sig, ssid, enc, mode, key2, pfx, sta, hidden, lowr, lcs, v) {
	nr = 0
	for (i = 1; i <= SECN["wireless"]; i++) {
		r = SEC["wireless", i]
		if (STYPE["wireless", r] != "wifi-device") continue
		nr++
		p = "Device.WiFi.Radio." key(r) "."
		RADIOP[r] = p
		band = u("wireless", r, "band", "")
		if (band == "") band = u("wireless", r, "hwmode", "") ~ /a/ ? "5g" : "2g"
		ht = u("wireless", r, "htmode", "")
		# the first interface of the radio tells its state
		dev = ""
		for (j = 1; j <= SECN["wireless"]; j++) {
			s = SEC["wireless", j]
			if (STYPE["wireless", s] == "wifi-iface" && u("wireless", s, "device", "") == r && (s in WIFNAME)) { dev = WIFNAME[s]; break }
		}
		info = dev != "" ? IW[dev, "info"] : ""
		phy = iwfield(info, "PHY name:")
		RPHY[r] = phy
		emit(p "Enable", bool(u("wireless", r, "disabled", "0") != "1"))
		emit(p "Status", RADIOUP[r] ? "Up" : "Down")
		emit(p "Name", phy != "" ? phy : r)
		emit(p "Upstream", "false")
		if (phy != "" && (v = wr_max(phy)) != "") emit(p "MaxBitRate", v)
		emit(p "SupportedFrequencyBands", band == "5g" ? "5GHz" : band == "6g" ? "6GHz" : "2.4GHz")
		emit(p "OperatingFrequencyBand", band == "5g" ? "5GHz" : band == "6g" ? "6GHz" : "2.4GHz")
		std = hwstd(iwfield(info, "HW Mode(s):"))
		if (std != "") emit(p "SupportedStandards", std)
		if (ht != "") {
			if (ht ~ /^EHT/) w = "be"
			else if (ht ~ /^HE/) w = "ax"
			else if (ht ~ /^VHT/) w = "ac"
			else if (ht ~ /^HT/) w = "n"
			else w = ""
			# OperatingStandards: what the mode allows on the band
			o = band == "2g" ? "b,g" : "a"
			if (w == "n" || w == "ac" || w == "ax" || w == "be") o = o ",n"
			if ((w == "ac" || w == "ax" || w == "be") && band != "2g") o = o ",ac"
			if (w == "ax" || w == "be") o = o ",ax"
			if (w == "be") o = o ",be"
			emit(p "OperatingStandards", o)
			m = ht
			sub(/^[A-Z]*/, "", m)
			sub(/[-+]$/, "", m)
			if (m ~ /^(20|40|80|160)$/) emit(p "OperatingChannelBandwidth", m "MHz")
			else if (ht == "NOHT") emit(p "OperatingChannelBandwidth", "20MHz")
		} else if (std != "")
			emit(p "OperatingStandards", std)
		ch = iwfield(info, "Channel:")
		sub(/ .*/, "", ch)
		if (ch ~ /^[0-9]+$/) {
			emit(p "Channel", ch)
			cc = iwfield(info, "Center Channel 1:")
			sub(/ .*/, "", cc)
			emit(p "ChannelsInUse", inuse(ch, cc, m))
			emit(p "ExtensionChannel", (cc ~ /^[0-9]+$/ && cc + 0 > ch + 0) ? "AboveControlChannel" : (cc ~ /^[0-9]+$/ && cc + 0 < ch + 0) ? "BelowControlChannel" : "Auto")
		} else if (u("wireless", r, "channel", "") ~ /^[0-9]+$/)
			emit(p "Channel", u("wireless", r, "channel", ""))
		emit(p "AutoChannelSupported", "true")
		emit(p "AutoChannelEnable", bool(u("wireless", r, "channel", "auto") == "auto"))
		# possible channels: iwinfo freqlist
		lst = ""
		n = split(IW[phy, "freqlist"], a, "\n")
		for (j = 1; j <= n; j++) if (match(a[j], /Channel [0-9]+/)) lst = lst (lst == "" ? "" : ",") substr(a[j], RSTART + 8, RLENGTH - 8)
		if (lst != "") emit(p "PossibleChannels", lst)
		# transmit power: iwinfo txpowerlist in dBm -> percent of the maximum
		n = split(IW[phy, "txpowerlist"], a, "\n")
		mx = 0; cur = ""; lst = ""
		for (j = 1; j <= n; j++) {
			if (!match(a[j], /\( *[0-9]+ mW\)/)) continue
			mw = substr(a[j], RSTART + 1)
			sub(/mW.*/, "", mw)
			TPW[j] = mw + 0
			if (mw + 0 > mx) mx = mw + 0
			if (a[j] ~ /^\*/) cur = mw + 0
		}
		if (mx > 0) {
			delete SEENP
			for (j = 1; j <= n; j++) {
				if (!(j in TPW)) continue
				c = int(100 * TPW[j] / mx + 0.5)
				if (!(c in SEENP)) { SEENP[c] = 1; lst = lst (lst == "" ? "" : ",") c }
			}
			emit(p "TransmitPowerSupported", lst)
			if (cur != "") emit(p "TransmitPower", int(100 * cur / mx + 0.5))
			delete TPW
		}
		c = u("wireless", r, "country", "")
		if (c ~ /^[A-Z][A-Z]$/) emit(p "RegulatoryDomain", c " ")
		emit(p "IEEE80211hSupported", bool(band == "5g"))
		emit(p "IEEE80211hEnabled", bool(band == "5g" && u("wireless", r, "doth", "1") != "0" && c != ""))
		emit(p "GuardInterval", "Auto")
		emit(p "MCS", -1)
		# a radio's counters: the sums of its interfaces'
		rs["tb"] = rs["rb"] = rs["tp"] = rs["rp"] = rs["te"] = rs["re"] = 0
		ns = 0
		for (j = 1; j <= SECN["wireless"]; j++) {
			s = SEC["wireless", j]
			if (STYPE["wireless", s] != "wifi-iface" || u("wireless", s, "device", "") != r || !(WIFNAME[s] in ND)) continue
			dev = WIFNAME[s]
			ns++
			rs["tb"] += TXB[dev]; rs["rb"] += RXB[dev]; rs["tp"] += TXP[dev]; rs["rp"] += RXP[dev]
			rs["te"] += TXE[dev]; rs["re"] += RXE[dev]
		}
		if (ns) {
			# (counters pass 2^31: printed with %.0f, not awk's number format)
			emit(p "Stats.BytesSent", sprintf("%.0f", rs["tb"])); emit(p "Stats.BytesReceived", sprintf("%.0f", rs["rb"]))
			emit(p "Stats.PacketsSent", sprintf("%.0f", rs["tp"])); emit(p "Stats.PacketsReceived", sprintf("%.0f", rs["rp"]))
			emit(p "Stats.ErrorsSent", sprintf("%.0f", rs["te"])); emit(p "Stats.ErrorsReceived", sprintf("%.0f", rs["re"]))
		}
	}
	emit("Device.WiFi.RadioNumberOfEntries", nr)
	ns = 0
	for (i = 1; i <= SECN["wireless"]; i++) {
		s = SEC["wireless", i]
		if (STYPE["wireless", s] != "wifi-iface") continue
		mode = u("wireless", s, "mode", "ap")
		if (mode != "ap") continue
		ns++
		r = u("wireless", s, "device", "")
		dev = WIFNAME[s]
		info = dev != "" ? IW[dev, "info"] : ""
		p = "Device.WiFi.SSID." key(s) "."
		q = "Device.WiFi.AccessPoint." key(s) "."
		en = u("wireless", s, "disabled", "0") != "1" && u("wireless", r, "disabled", "0") != "1"
		emit(p "Enable", bool(u("wireless", s, "disabled", "0") != "1"))
		lcs = (dev != "" && devstatus(dev) == "Up") ? "Up" : (u("wireless", s, "disabled", "0") == "1" ? "Down" : (dev == "" ? "Down" : devstatus(dev)))
		emit(p "Status", lcs)
		lastchange(p, "@" s, lcs " " dev " " LCSYS[dev])
		emit(p "Name", dev != "" ? dev : s)
		lowr = (r != "" && (r in RADIOP)) ? RADIOP[r] : ""
		emit(p "LowerLayers", lowr)
		stack(p, lowr)
		mac = iwfield(info, "Access Point:")
		if (mac ~ /^[0-9A-Fa-f:]+$/ && mac != "00:00:00:00:00:00") {
			emit(p "BSSID", tolower(mac))
			emit(p "MACAddress", dev != "" && devmac(dev) != "" ? devmac(dev) : tolower(mac))
		} else if (dev != "" && devmac(dev) != "")
			emit(p "MACAddress", devmac(dev))
		emit(p "SSID", u("wireless", s, "ssid", ""))
		emit(p "MLDUnit", -1)
		if (dev != "") stats(p, dev, 0)
		# the access point
		emit(q "Enable", bool(u("wireless", s, "disabled", "0") != "1"))
		emit(q "Status", en ? "Enabled" : "Disabled")
		emit(q "SSIDReference", p)
		emit(q "SSIDAdvertisementEnabled", bool(u("wireless", s, "hidden", "0") != "1"))
		emit(q "WMMCapability", "true")
		emit(q "UAPSDCapability", "true")
		emit(q "WMMEnable", bool(u("wireless", s, "wmm", "1") != "0"))
		emit(q "UAPSDEnable", bool(u("wireless", s, "uapsd", "1") != "0"))
		emit(q "IsolationEnable", bool(u("wireless", s, "isolate", "0") == "1"))
		if (uhas("wireless", s, "maxassoc")) emit(q "MaxAssociatedDevices", u("wireless", s, "maxassoc", ""))
		m = u("wireless", s, "macfilter", "disable")
		emit(q "MACAddressControlEnabled", bool(m == "allow"))
		lst = ""
		if (m == "allow") {
			n = ulist("wireless", s, "maclist", a)
			for (j = 1; j <= n; j++) lst = lst (j > 1 ? "," : "") toupper(a[j])
		}
		emit(q "AllowedMACAddress", lst)
		enc = u("wireless", s, "encryption", "none")
		emit(q "Security.ModesSupported", "None,WPA-Personal,WPA2-Personal,WPA-WPA2-Personal,WPA3-Personal,WPA3-Personal-Transition,WPA-Enterprise,WPA2-Enterprise,WPA3-Enterprise,WPA-WPA2-Enterprise,OWE")
		emit(q "Security.ModeEnabled", secmode(enc))
		emit(q "Security.WEPKey", "")
		emit(q "Security.PreSharedKey", "")
		emit(q "Security.KeyPassphrase", "")
		emit(q "Security.SAEPassphrase", "")
		emit(q "Security.RekeyingInterval", u("wireless", s, "wpa_group_rekey", "86400"))
		emit(q "Security.RadiusServerIPAddr", u("wireless", s, "auth_server", u("wireless", s, "server", "")))
		emit(q "Security.RadiusServerPort", u("wireless", s, "auth_port", u("wireless", s, "port", "1812")))
		emit(q "Security.RadiusSecret", "")
		emit(q "WPS.Enable", bool(u("wireless", s, "wps_pushbutton", "0") == "1"))
		emit(q "WPS.ConfigMethodsSupported", "PushButton")
		emit(q "WPS.ConfigMethodsEnabled", u("wireless", s, "wps_pushbutton", "0") == "1" ? "PushButton" : "")
		# associated devices: iwinfo DEV assoclist
		nst = 0
		if (dev != "") {
			n = split(IW[dev, "assoclist"], a, "\n")
			for (j = 1; j <= n; j++) {
				line = a[j]
				if (match(line, /^[0-9A-Fa-f][0-9A-Fa-f](:[0-9A-Fa-f][0-9A-Fa-f])+ /)) {
					mac = tolower(substr(line, 1, RLENGTH - 1))
					nst++
					sta = q "AssociatedDevice." key(mac) "."
					STAREF[mac] = sta
					STASSID[mac] = p
					emit(sta "MACAddress", mac)
					emit(sta "AuthenticationState", "true")
					emit(sta "Active", "true")
					sig = line
					sub(/^[^ ]+ +/, "", sig)
					if (sig ~ /^-?[0-9]+ dBm/) { sub(/ .*/, "", sig); emit(sta "SignalStrength", sig) }
				} else if (nst && match(line, /^[ \t]+(RX|TX): /)) {
					rate = line
					sub(/^[ \t]+(RX|TX): /, "", rate)
					pk = rate
					sub(/ .*/, "", rate)
					if (rate ~ /^[0-9.]+$/ && index(line, "MBit/s")) {
						if (line ~ /RX:/) emit(sta "LastDataUplinkRate", int(rate * 1000 + 0.5))
						else emit(sta "LastDataDownlinkRate", int(rate * 1000 + 0.5))
					}
					if (match(line, /[0-9]+ Pkts\./)) {
						pk = substr(line, RSTART, RLENGTH - 6)
						emit(sta (line ~ /RX:/ ? "Stats.PacketsReceived" : "Stats.PacketsSent"), pk)
					}
				}
			}
		}
		emit(q "AssociatedDeviceNumberOfEntries", nst)
	}
	emit("Device.WiFi.SSIDNumberOfEntries", ns)
	emit("Device.WiFi.AccessPointNumberOfEntries", ns)
}
function inuse(ch, cc, w,    o, lo, k) {
	ch += 0
	if (cc !~ /^[0-9]+$/ || w !~ /^(40|80|160)$/ || ch < 15) return ch
	lo = cc - (w / 5 / 2) + 2
	o = ""
	for (k = lo; k <= cc + w / 10 - 2; k += 4) o = o (o == "" ? "" : ",") k
	return o
}
function secmode(e) {
	if (e == "none" || e == "") return "None"
	if (e ~ /^wep/) return "WEP-128"
	if (e ~ /^psk-mixed/) return "WPA-WPA2-Personal"
	if (e ~ /^psk2/) return "WPA2-Personal"
	if (e ~ /^psk/) return "WPA-Personal"
	if (e ~ /^sae-mixed/) return "WPA3-Personal-Transition"
	if (e ~ /^sae/) return "WPA3-Personal"
	if (e ~ /^owe/) return "OWE"
	if (e ~ /^wpa3/) return "WPA3-Enterprise"
	if (e ~ /^wpa-mixed/) return "WPA-WPA2-Enterprise"
	if (e ~ /^wpa2/) return "WPA2-Enterprise"
	if (e ~ /^wpa/) return "WPA-Enterprise"
	return "None"
}

# ------------------------------------------------------------------ PPP
function out_ppp(    i, s, p, d, dev, lo, n, ll, rem) {
	n = 0
	emit("Device.PPP.SupportedNCPs", "IPCP,IPv6CP")
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		if (IFPROTO[s] !~ /^(pppoe|pppoa|ppp|3g|pptp|l2tp)$/) continue
		n++
		p = "Device.PPP.Interface." key(s) "."
		PPPREF[s] = p
		d = DUMP[s]
		dev = IFDEV[s]
		emit(p "Enable", bool(u("network", s, "disabled", "0") != "1" && u("network", s, "auto", "1") != "0"))
		emit(p "Status", IFUP[s] ? "Up" : "Down")
		emit(p "ConnectionStatus", IFUP[s] ? "Connected" : (d != "" && jget(d "/pending") == "true" ? "Connecting" : "Disconnected"))
		emit(p "Name", dev != "" ? dev : IFPROTO[s] "-" s)
		if (IFUP[s]) emit(p "LastChange", jget(d "/uptime"))
		lo = l2ref(IFL2[s])
		emit(p "LowerLayers", lo)
		stack(p, lo)
		emit(p "Reset", "false")
		emit(p "Username", u("network", s, "username", ""))
		emit(p "Password", "")
		emit(p "ConnectionTrigger", u("network", s, "demand", "") != "" ? "OnDemand" : "AlwaysOn")
		emit(p "IPCPEnable", "true")
		emit(p "IPv6CPEnable", bool(u("network", s, "ipv6", "auto") != "0"))
		if (IFUP[s] && jn(d "/ipv4-address")) {
			emit(p "IPCP.LocalIPAddress", jget(d "/ipv4-address/0/address"))
			emit(p "IPCP.RemoteIPAddress", jget(d "/ipv4-address/0/ptpaddress"))
		}
		if (dev in LLADDR) {
			ll = LLADDR[dev]
			emit(p "IPv6CP.LocalInterfaceIdentifier", hex6("0000000000000000" substr(ll, 17)))
			rem = ""
			for (k = 1; k <= NIF; k++) {
				if (IFDEV[IFN[k]] != dev) continue
				dd = DUMP[IFN[k]]
				for (j = 0; j < jn(dd "/route"); j++) if (jget(dd "/route/" j "/nexthop") ~ /^fe80::/) rem = jget(dd "/route/" j "/nexthop")
			}
			if (rem != "") { sub(/^fe80::/, "::", rem); emit(p "IPv6CP.RemoteInterfaceIdentifier", rem) }
		}
		if (IFPROTO[s] == "pppoe") {
			emit(p "PPPoE.ACName", u("network", s, "ac", ""))
			emit(p "PPPoE.ServiceName", u("network", s, "service", ""))
			if (IFL2[s] in PPPOESID) emit(p "PPPoE.SessionID", PPPOESID[IFL2[s]])
		}
		if (dev != "") stats(p, dev, 3)
	}
	emit("Device.PPP.InterfaceNumberOfEntries", n)
}

# ------------------------------------------------------------------ IP
function out_ip(    i, s, p, d, dev, n, j, q, a, k, m, addrs, nv4, nv6, npf, lo, pfx, t, ula, pr, vl) {
	emit("Device.IP.IPv4Capable", "true")
	emit("Device.IP.IPv4Enable", "true")
	emit("Device.IP.IPv4Status", "Enabled")
	emit("Device.IP.IPv6Capable", "true")
	emit("Device.IP.IPv6Enable", "true")
	emit("Device.IP.IPv6Status", "Enabled")
	ula = u("network", "globals", "ula_prefix", "")
	emit("Device.IP.ULAPrefix", ula == "auto" ? "" : ula)
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		d = DUMP[s]
		dev = IFDEV[s]
		p = "Device.IP.Interface." key(s) "."
		emit(p "Enable", bool(u("network", s, "disabled", "0") != "1"))
		emit(p "Status", IFUP[s] ? "Up" : "Down")
		emit(p "Name", s)
		emit(p "Type", dev == "lo" ? "Loopback" : "Normal")
		emit(p "Loopback", bool(dev == "lo"))
		if (IFUP[s]) emit(p "LastChange", jget(d "/uptime"))
		emit(p "Reset", "false")
		if (s in PPPREF) lo = PPPREF[s]
		else if (IFL2[s] ~ /^@/) { t = substr(IFL2[s], 2); lo = (t in PPPREF) ? PPPREF[t] : l2ref(IFL2[t]) }
		else lo = l2ref(IFL2[s])
		emit(p "LowerLayers", lo)
		stack(p, lo)
		emit(p "IPv4Enable", bool(IFPROTO[s] !~ /^(dhcpv6|6in4|6to4|6rd)$/))
		emit(p "IPv6Enable", bool(u("network", s, "ipv6", "1") != "0" && dev != "lo"))
		emit(p "ULAEnable", bool(ula != "" && uhas("network", s, "ip6assign")))
		emit(p "Router", "Device.Routing.Router." key("main") ".")
		if (jhas("network.device/" dev "/mtu") && jget("network.device/" dev "/mtu") + 0 <= 65535) emit(p "MaxMTUSize", jget("network.device/" dev "/mtu"))
		# IPv4 addresses: netifd's when up, the configuration's otherwise
		nv4 = 0
		if (d != "" && jn(d "/ipv4-address")) {
			for (j = 0; j < jn(d "/ipv4-address"); j++) {
				k = IFPROTO[s] == "static" ? "static" (j ? j + 1 : "") : (IFPROTO[s] == "dhcp" ? "dhcp" : IFPROTO[s] ~ /^ppp/ ? "ipcp" : IFPROTO[s]) (j ? j + 1 : "")
				v4out(p "IPv4Address." key(k) ".", jget(d "/ipv4-address/" j "/address"), bits2mask(jget(d "/ipv4-address/" j "/mask")), s, IFUP[s])
				nv4++
			}
		} else if (IFPROTO[s] == "static" && uhas("network", s, "ipaddr")) {
			m = ulist("network", s, "ipaddr", a)
			for (j = 1; j <= m; j++) {
				t = a[j]
				pr = u("network", s, "netmask", "")
				if (index(t, "/")) { pr = bits2mask(substr(t, index(t, "/") + 1)); t = substr(t, 1, index(t, "/") - 1) }
				v4out(p "IPv4Address." key("static" (j > 1 ? j : "")) ".", t, pr, s, 0)
				nv4++
			}
		}
		emit(p "IPv4AddressNumberOfEntries", nv4)
		# IPv6: prefixes (delegated, assigned), then addresses
		npf = 0
		if (d != "") {
			for (j = 0; j < jn(d "/ipv6-prefix"); j++) {
				pfx = jget(d "/ipv6-prefix/" j "/address") "/" jget(d "/ipv6-prefix/" j "/mask")
				q = p "IPv6Prefix." key(pfx) "."
				PFXREF[pfx] = q
				v6pfx(q, pfx, "PrefixDelegation", "PrefixDelegation", "", d "/ipv6-prefix/" j, 0)
				npf++
			}
			for (j = 0; j < jn(d "/ipv6-prefix-assignment"); j++) {
				pfx = jget(d "/ipv6-prefix-assignment/" j "/address") "/" jget(d "/ipv6-prefix-assignment/" j "/mask")
				q = p "IPv6Prefix." key(pfx) "."
				PFXREF[pfx] = q
				IFPFX[s] = IFPFX[s] (IFPFX[s] == "" ? "" : ",") q
				v6pfx(q, pfx, "Child", "Child", parentpfx(jget(d "/ipv6-prefix-assignment/" j "/address")), "", 1)
				npf++
			}
		}
		emit(p "IPv6PrefixNumberOfEntries", npf)
		nv6 = 0
		if (d != "") {
			for (j = 0; j < jn(d "/ipv6-address"); j++) {
				t = jget(d "/ipv6-address/" j "/address")
				q = p "IPv6Address." key(t) "."
				v6addr(q, t, IFPROTO[s] == "dhcpv6" ? "DHCPv6" : (IFPROTO[s] == "static" ? "Static" : "AutoConfigured"), d "/ipv6-address/" j, "")
				nv6++
			}
			for (j = 0; j < jn(d "/ipv6-prefix-assignment"); j++) {
				t = jget(d "/ipv6-prefix-assignment/" j "/local-address/address")
				if (t == "") continue
				q = p "IPv6Address." key(t) "."
				pfx = jget(d "/ipv6-prefix-assignment/" j "/address") "/" jget(d "/ipv6-prefix-assignment/" j "/mask")
				v6addr(q, t, "AutoConfigured", "", PFXREF[pfx])
				nv6++
			}
		}
		emit(p "IPv6AddressNumberOfEntries", nv6)
		if (dev != "") stats(p, dev, 1)
	}
	emit("Device.IP.InterfaceNumberOfEntries", NIF + 0)
}
function v4out(q, ip, mask, s, up) {
	emit(q "Enable", "true")
	emit(q "Status", up ? "Enabled" : "Disabled")
	emit(q "IPAddress", ip)
	emit(q "SubnetMask", mask)
	emit(q "AddressingType", IFPROTO[s] == "static" ? "Static" : IFPROTO[s] == "dhcp" ? "DHCP" : IFPROTO[s] ~ /^ppp/ ? "IPCP" : "Static")
	IFADDR[s] = IFADDR[s] == "" ? ip : IFADDR[s]
	IFMASK[s] = IFMASK[s] == "" ? mask : IFMASK[s]
}
function parentpfx(addr,    k, i, d, j, pa, pm, a, b) {
	# the delegated prefix that contains ADDR (first 4 groups compared by prefix text)
	for (i = 1; i <= NIF; i++) {
		d = DUMP[IFN[i]]
		for (j = 0; j < jn(d "/ipv6-prefix"); j++) {
			pa = jget(d "/ipv6-prefix/" j "/address")
			pm = jget(d "/ipv6-prefix/" j "/mask")
			a = pa; sub(/::$/, "", a)
			b = addr
			if (substr(b, 1, length(a)) == a) return "Device.IP.Interface." key(IFN[i]) ".IPv6Prefix." key(pa "/" pm) "."
		}
	}
	return ""
}
function life(t) { return t == "" ? "9999-12-31T23:59:59Z" : iso(NOW + t) }
function v6pfx(q, pfx, origin, st, parent, jp, onlink,    pl, vl) {
	emit(q "Enable", "true")
	emit(q "Status", "Enabled")
	pl = jp != "" ? jget(jp "/preferred") : ""
	vl = jp != "" ? jget(jp "/valid") : ""
	emit(q "PrefixStatus", (pl == "" || pl + 0 > 0) ? "Preferred" : "Deprecated")
	emit(q "Prefix", pfx)
	emit(q "Origin", origin)
	emit(q "StaticType", origin == "Child" ? "Child" : "Inapplicable")
	emit(q "ParentPrefix", parent)
	emit(q "OnLink", bool(onlink))
	emit(q "Autonomous", bool(onlink))
	if (NOW) {
		emit(q "PreferredLifetime", life(pl))
		emit(q "ValidLifetime", life(vl))
	}
}
function v6addr(q, ip, origin, jp, pref,    pl, vl) {
	emit(q "Enable", "true")
	emit(q "Status", "Enabled")
	pl = jp != "" ? jget(jp "/preferred") : ""
	vl = jp != "" ? jget(jp "/valid") : ""
	emit(q "IPAddressStatus", (pl == "" || pl + 0 > 0) ? "Preferred" : "Deprecated")
	emit(q "IPAddress", ip)
	emit(q "Origin", origin)
	emit(q "Prefix", pref)
	if (NOW) {
		emit(q "PreferredLifetime", life(pl))
		emit(q "ValidLifetime", life(vl))
	}
}

function out_stack(    i, k) {
	for (i = 1; i <= NST; i++) {
		if (STHI[i] == "" || STLO[i] == "") continue
		NSTK++
		k = STHI[i] "|" STLO[i]
		gsub(/Device\.|[{}]/, "", k)
		emit("Device.InterfaceStack." key(k) ".HigherLayer", STHI[i])
		emit("Device.InterfaceStack." key(k) ".LowerLayer", STLO[i])
	}
	# (Device.InterfaceStackNumberOfEntries sits in Device., outside this pack's subtrees)
}

# ------------------------------------------------------------------ Routing
function out_routing(    p, f, l, a, n, i, s, k, dst, gw, msk, dev, met, fl, q, t, nf, found, pfxlen, nh, st, d, j) {
	p = "Device.Routing.Router." key("main") "."
	emit("Device.Routing.RouterNumberOfEntries", 1)
	emit(p "Enable", "true")
	emit(p "Status", "Enabled")
	# uci static routes
	for (i = 1; i <= SECN["network"]; i++) {
		s = SEC["network", i]
		if (STYPE["network", s] != "route") continue
		t = u("network", s, "target", "")
		msk = u("network", s, "netmask", t == "" ? "" : "255.255.255.255")
		if (index(t, "/")) { msk = bits2mask(substr(t, index(t, "/") + 1)); t = substr(t, 1, index(t, "/") - 1) }
		SR++
		SRSEC[SR] = s; SRDST[SR] = t; SRMASK[SR] = msk
	}
	nf = 0
	f = R "/proc/net/route"
	getline l < f
	while ((getline l < f) > 0) {
		if (split(l, a, /[ \t]+/) < 8) continue
		dev = a[1]; dst = hexip_le(a[2]); gw = hexip_le(a[3]); fl = hex(a[4]); met = a[7]; msk = hexip_le(a[8])
		found = ""
		for (i = 1; i <= SR; i++) if (SRDST[i] == dst && SRMASK[i] == msk) { found = SRSEC[i]; SRUSED[i] = 1 }
		k = found != "" ? found : "k_" dst "_" mask2bits(msk) "_" dev
		q = p "IPv4Forwarding." key(k) "."
		nf++
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "StaticRoute", bool(found != ""))
		emit(q "DestIPAddress", dst == "0.0.0.0" && msk == "0.0.0.0" ? "" : dst)
		emit(q "DestSubnetMask", dst == "0.0.0.0" && msk == "0.0.0.0" ? "" : msk)
		emit(q "GatewayIPAddress", gw == "0.0.0.0" ? "" : gw)
		emit(q "Interface", ipref(dev))
		emit(q "ForwardingMetric", met)
		emit(q "ForwardingPolicy", -1)
		t = DEV2IF[dev]
		emit(q "Origin", found != "" ? "Static" : IFPROTO[t] == "dhcp" ? "DHCPv4" : IFPROTO[t] ~ /^ppp/ ? "IPCP" : "Static")
	}
	close(f)
	# configured routes the kernel does not have (interface down, or an error)
	for (i = 1; i <= SR; i++) {
		if (SRUSED[i]) continue
		s = SRSEC[i]
		q = p "IPv4Forwarding." key(s) "."
		nf++
		emit(q "Enable", bool(u("network", s, "disabled", "0") != "1"))
		emit(q "Status", u("network", s, "disabled", "0") == "1" ? "Disabled" : "Error")
		emit(q "StaticRoute", "true")
		emit(q "DestIPAddress", SRDST[i])
		emit(q "DestSubnetMask", SRMASK[i])
		emit(q "GatewayIPAddress", u("network", s, "gateway", ""))
		emit(q "Interface", "Device.IP.Interface." key(u("network", s, "interface", "")) ".")
		emit(q "ForwardingMetric", u("network", s, "metric", "0"))
		emit(q "ForwardingPolicy", -1)
		emit(q "Origin", "Static")
	}
	emit(p "IPv4ForwardingNumberOfEntries", nf)
	# IPv6: /proc/net/ipv6_route, unicast routes of the main table
	nf = 0
	for (i = 1; i <= SECN["network"]; i++) {
		s = SEC["network", i]
		if (STYPE["network", s] == "route6") { SR6++; SR6SEC[SR6] = s; SR6T[SR6] = u("network", s, "target", "") }
	}
	f = R "/proc/net/ipv6_route"
	while ((getline l < f) > 0) {
		if (split(l, a, /[ \t]+/) < 10) continue
		if (a[1] == "") { for (i = 1; i < 10; i++) a[i] = a[i + 1] }
		fl = hex(a[9]); dev = a[10]
		if (dev == "lo" || int(fl / 512) % 2) continue # local or reject
		dst = hex6(a[1]); pfxlen = hex(a[2])
		if (dst ~ /^f[ef]/) continue # link-local, multicast
		nh = hex6(a[5])
		found = ""
		for (i = 1; i <= SR6; i++) if (SR6T[i] == dst "/" pfxlen) found = SR6SEC[i]
		t = DEV2IF[dev]
		k = found != "" ? found : "k6_" dst "/" pfxlen "_" (hex(a[4]) ? hex6(a[3]) "/" hex(a[4]) "_" : "") dev
		q = p "IPv6Forwarding." key(k) "."
		nf++
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "DestIPPrefix", dst "/" pfxlen)
		emit(q "NextHop", nh == "::" ? "" : nh)
		emit(q "Interface", ipref(dev))
		emit(q "ForwardingMetric", hex(a[6]))
		emit(q "ForwardingPolicy", -1)
		emit(q "Origin", found != "" ? "Static" : (int(fl / 262144) % 2) ? "RA" : (IFPROTO[t] == "dhcpv6" ? "DHCPv6" : "Static"))
		emit(q "ExpirationTime", "9999-12-31T23:59:59Z")
	}
	close(f)
	emit(p "IPv6ForwardingNumberOfEntries", nf)
	# routes learned from router advertisements (odhcp6c: a link-local next hop)
	nf = 0
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		if (IFPROTO[s] != "dhcpv6" || DUMP[s] == "") continue
		d = DUMP[s]
		for (j = 0; j < jn(d "/route"); j++) {
			nh = jget(d "/route/" j "/nexthop")
			if (nh !~ /^fe80:/) continue
			t = jget(d "/route/" j "/target") "/" jget(d "/route/" j "/mask")
			if (SEENRI[s, t, nh]++) continue
			nf++
			q = "Device.Routing.RouteInformation.InterfaceSetting." key(s "_" nf) "."
			emit(q "Status", "ForwardingEntryCreated")
			emit(q "Interface", "Device.IP.Interface." key(s) ".")
			emit(q "SourceRouter", nh)
			emit(q "Prefix", t)
			# odhcp6c gives an RA route the metric of its RFC 4191 preference
			# (pref_to_priority: high 384, medium 512, low 640) and netifd keeps it
			v = jget(d "/route/" j "/metric")
			if (v in RAPREF) emit(q "PreferredRouteFlag", RAPREF[v])
			if (NOW) emit(q "RouteLifetime", life(jget(d "/route/" j "/valid")))
		}
	}
	emit("Device.Routing.RouteInformation.Enable", "true")
	emit("Device.Routing.RouteInformation.InterfaceSettingNumberOfEntries", nf)
}

# ------------------------------------------------------------------ NAT
function out_nat(    z, i, n, a, s, q, np, src, nets, pr, m, pa, j, k, proto, ep, ipf) {
	n = 0
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		z = NETZONE[s]
		if (z == "" || u("firewall", ZONESEC[z], "masq", "0") != "1" || IFPROTO[s] ~ /^(dhcpv6|6in4|6to4|6rd)$/) continue
		n++
		q = "Device.NAT.InterfaceSetting." key(s) "."
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "Interface", "Device.IP.Interface." key(s) ".")
	}
	emit("Device.NAT.InterfaceSettingNumberOfEntries", n)
	np = 0
	for (i = 1; i <= SECN["firewall"]; i++) {
		s = SEC["firewall", i]
		if (STYPE["firewall", s] != "redirect" || u("firewall", s, "target", "DNAT") != "DNAT") continue
		pr = u("firewall", s, "proto", "tcp udp")
		gsub(/tcpudp/, "tcp udp", pr)
		m = split(pr, pa, /[ ,]+/)
		k = 0
		for (j = 1; j <= m; j++) {
			proto = toupper(pa[j])
			if (proto != "TCP" && proto != "UDP") continue
			k++
			q = "Device.NAT.PortMapping." key(k == 1 ? s : s "/" tolower(proto)) "."
			np++
			en = u("firewall", s, "enabled", "1") != "0"
			emit(q "Enable", bool(en))
			emit(q "Status", en ? "Enabled" : "Disabled")
			src = u("firewall", s, "src", "")
			nets = split(ZNETS[src], a, LS)
			emit(q "AllInterfaces", bool(nets != 1))
			emit(q "Interface", nets == 1 ? "Device.IP.Interface." key(a[1]) "." : "")
			emit(q "LeaseDuration", 0)
			emit(q "RemoteHost", u("firewall", s, "src_ip", ""))
			ep = u("firewall", s, "src_dport", "")
			sub(/:/, "-", ep)
			emit(q "ExternalPort", index(ep, "-") ? substr(ep, 1, index(ep, "-") - 1) : (ep == "" ? 0 : ep))
			emit(q "ExternalPortEndRange", index(ep, "-") ? substr(ep, index(ep, "-") + 1) : 0)
			ep = u("firewall", s, "dest_port", u("firewall", s, "src_dport", ""))
			sub(/[-:].*/, "", ep)
			emit(q "InternalPort", ep == "" ? 0 : ep)
			emit(q "Protocol", proto)
			emit(q "InternalClient", u("firewall", s, "dest_ip", ""))
			emit(q "Description", u("firewall", s, "name", ""))
		}
	}
	emit("Device.NAT.PortMappingNumberOfEntries", np)
}

# ------------------------------------------------------------------ DNS
function out_dns(    i, s, d, j, n, a, m, t, q, nc, nr, typ, x) {
	emit("Device.DNS.SupportedRecordTypes", "A,AAAA,SRV,PTR")
	emit("Device.DNS.Client.Enable", "true")
	emit("Device.DNS.Client.Status", "Enabled")
	nc = 0
	nr = 0
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		d = DUMP[s]
		if (d == "") continue
		m = ulist("network", s, "dns", a)
		delete STAT
		for (j = 1; j <= m; j++) STAT[a[j]] = 1
		for (j = 0; j < jn(d "/dns-server"); j++) {
			t = jget(d "/dns-server/" j)
			typ = (t in STAT) ? "Static" : IFPROTO[s] == "dhcp" ? "DHCPv4" : IFPROTO[s] == "dhcpv6" ? "DHCPv6" : IFPROTO[s] ~ /^ppp/ ? "IPCP" : "Static"
			x = s "_" (j + 1)
			q = "Device.DNS.Client.Server." key(x) "."
			nc++
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "DNSServer", t)
			emit(q "Interface", "Device.IP.Interface." key(s) ".")
			emit(q "Type", typ)
			if (DNSMASQ != "") {
				q = "Device.DNS.Relay.Forwarding." key(x) "."
				nr++
				emit(q "Enable", "true")
				emit(q "Status", "Enabled")
				emit(q "DNSServer", t)
				emit(q "Interface", "Device.IP.Interface." key(s) ".")
				emit(q "Type", typ)
			}
		}
	}
	emit("Device.DNS.Client.ServerNumberOfEntries", nc)
	if (DNSMASQ == "") return
	emit("Device.DNS.Relay.Enable", bool(u("dhcp", DNSMASQ, "port", "53") != "0"))
	emit("Device.DNS.Relay.Status", u("dhcp", DNSMASQ, "port", "53") != "0" ? "Enabled" : "Disabled")
	m = ulist("dhcp", DNSMASQ, "server", a)
	for (j = 1; j <= m; j++) {
		if (a[j] !~ /^[0-9a-fA-F.:]+(#[0-9]+)?$/) continue # per-domain servers are not forwardings of all
		t = a[j]
		sub(/#.*/, "", t)
		q = "Device.DNS.Relay.Forwarding." key("dnsmasq_" j) "."
		nr++
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "DNSServer", t)
		emit(q "Interface", "")
		emit(q "Type", "Static")
	}
	emit("Device.DNS.Relay.ForwardNumberOfEntries", nr)
}

# ------------------------------------------------------------------ DHCPv4
function secsof(t) {
	if (t == "infinite") return -1
	if (t ~ /h$/) return substr(t, 1, length(t) - 1) * 3600
	if (t ~ /m$/) return substr(t, 1, length(t) - 1) * 60
	if (t ~ /d$/) return substr(t, 1, length(t) - 1) * 86400
	if (t ~ /w$/) return substr(t, 1, length(t) - 1) * 604800
	if (t ~ /s$/) return substr(t, 1, length(t) - 1)
	return t == "" ? 43200 : t
}
function out_dhcpv4(    on, i, s, p, ifc, net, msk, st, lim, n, a, j, tag, v, dns, rt, dom, q, np, nsa, ncl, mac, ip, h, nc, order) {
	np = 0
	order = 0
	for (i = 1; i <= SECN["dhcp"]; i++) {
		s = SEC["dhcp", i]
		if (STYPE["dhcp", s] != "dhcp") continue
		ifc = u("dhcp", s, "interface", s)
		if (u("dhcp", s, "dhcpv4", "server") == "disabled") continue
		np++
		order++
		p = "Device.DHCPv4.Server.Pool." key(s) "."
		# dnsmasq serves a pool only on a static interface with an address
		# (ignore 1: configured, not served)
		on = u("dhcp", s, "ignore", "0") != "1"
		if (IFADDR[ifc] == "" || IFPROTO[ifc] != "static") {
			emit(p "Enable", bool(on))
			emit(p "Status", on ? "Error_Misconfigured" : "Disabled")
			emit(p "Order", order)
			emit(p "Interface", STYPE["network", ifc] == "interface" ? "Device.IP.Interface." key(ifc) "." : "")
			emit(p "LeaseTime", secsof(u("dhcp", s, "leasetime", "12h")))
			# no subnet: no range, router or server to name
			split("MinAddress MaxAddress SubnetMask ReservedAddresses DNSServers IPRouters DomainName", a, " ")
			for (j = 1; j <= 7; j++) emit(p a[j], "")
			split("StaticAddress Option Client", a, " ")
			for (j = 1; j <= 3; j++) emit(p a[j] "NumberOfEntries", 0)
			obj(p "StaticAddress.")
			continue
		}
		POOL[ifc] = p
		msk = IFMASK[ifc]
		net = ip2n(IFADDR[ifc]) - ip2n(IFADDR[ifc]) % p2(32 - mask2bits(msk))
		POOLNET[ifc] = net
		POOLBITS[ifc] = mask2bits(msk)
		st = u("dhcp", s, "start", "100")
		lim = u("dhcp", s, "limit", "150")
		emit(p "Enable", bool(on))
		emit(p "Status", on ? "Enabled" : "Disabled")
		emit(p "Order", order)
		emit(p "Interface", "Device.IP.Interface." key(ifc) ".")
		emit(p "MinAddress", n2ip(net + st))
		emit(p "MaxAddress", n2ip(net + st + lim - 1))
		emit(p "SubnetMask", msk)
		emit(p "ReservedAddresses", "")
		emit(p "LeaseTime", secsof(u("dhcp", s, "leasetime", "12h")))
		# options given with dhcp_option ("TAG,VALUE"); dnsmasq's own
		# defaults otherwise: itself as router and DNS server, its domain
		dns = IFADDR[ifc]; rt = IFADDR[ifc]; dom = u("dhcp", DNSMASQ, "domain", "")
		n = ulist("dhcp", s, "dhcp_option", a)
		nc = 0
		for (j = 1; j <= n; j++) {
			tag = a[j]
			sub(/,.*/, "", tag)
			sub(/^option:/, "", tag)
			if (tag == "router") tag = 3
			else if (tag == "dns-server") tag = 6
			else if (tag == "domain-name") tag = 15
			if (tag !~ /^[0-9]+$/) continue
			v = substr(a[j], index(a[j], ",") + 1)
			if (tag == 6) dns = v
			else if (tag == 3) rt = v
			else if (tag == 15) dom = v
			q = p "Option." key(tag) "."
			nc++
			emit(q "Enable", "true")
			emit(q "Tag", tag)
			emitt(q "Value", opt2hex(tag, v), "hexBinary")
		}
		emit(p "OptionNumberOfEntries", nc)
		emit(p "DNSServers", dns)
		emit(p "IPRouters", rt)
		emit(p "DomainName", dom)
		# static leases: config host with a MAC and an address in this pool's subnet
		nsa = 0
		for (j = 1; j <= SECN["dhcp"]; j++) {
			h = SEC["dhcp", j]
			if (STYPE["dhcp", h] != "host") continue
			ip = u("dhcp", h, "ip", "")
			mac = u("dhcp", h, "mac", "")
			# an address in this pool's subnet; or none yet, in a lease this pool's AddObject made
			if (ip == "" ? index(h, "rk_" s "_h") != 1 : ip2n(ip) - ip2n(ip) % p2(32 - POOLBITS[ifc]) != net) continue
			sub(/ .*/, "", mac)
			nsa++
			q = p "StaticAddress." key(h) "."
			emit(q "Enable", bool(u("dhcp", h, "enable", "1") != "0"))
			emit(q "Chaddr", tolower(mac))
			emit(q "Yiaddr", ip)
		}
		emit(p "StaticAddressNumberOfEntries", nsa)
		if (!nsa) obj(p "StaticAddress.")
		# clients: the dnsmasq lease file
		ncl = 0
		for (j = 1; j <= NL; j++) {
			if (ip2n(LIP[j]) - ip2n(LIP[j]) % p2(32 - POOLBITS[ifc]) != net) continue
			ncl++
			q = p "Client." key(LMAC[j]) "."
			CLIENTREF[LMAC[j]] = q
			LEASEOF[LMAC[j]] = j
			emit(q "Chaddr", LMAC[j])
			emit(q "Active", "true")
			emit(q "IPv4Address." key(LIP[j]) ".IPAddress", LIP[j])
			emit(q "IPv4Address." key(LIP[j]) ".LeaseTimeRemaining", LEXP[j] == 0 ? "9999-12-31T23:59:59Z" : iso(LEXP[j]))
			emit(q "IPv4AddressNumberOfEntries", 1)
			nc = 0
			if (LNAME[j] != "") {
				nc++
				emit(q "Option." key(12) ".Tag", 12)
				emitt(q "Option." key(12) ".Value", txt2hex(LNAME[j]), "hexBinary")
			}
			if (LCID[j] != "") {
				nc++
				v = LCID[j]
				gsub(/:/, "", v)
				emit(q "Option." key(61) ".Tag", 61)
				emitt(q "Option." key(61) ".Value", tolower(v), "hexBinary")
			}
			emit(q "OptionNumberOfEntries", nc)
		}
		emit(p "ClientNumberOfEntries", ncl)
	}
	emit("Device.DHCPv4.Server.PoolNumberOfEntries", np)
	emit("Device.DHCPv4.Server.Enable", bool(DNSMASQ != ""))
	# clients: interfaces with proto dhcp
	n = 0
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		if (IFPROTO[s] != "dhcp") continue
		n++
		p = "Device.DHCPv4.Client." key(s) "."
		d = DUMP[s]
		emit(p "Enable", bool(u("network", s, "disabled", "0") != "1"))
		emit(p "Status", "Enabled")
		emit(p "Interface", "Device.IP.Interface." key(s) ".")
		emit(p "DHCPStatus", IFADDR[s] != "" && IFUP[s] ? "Bound" : "Init")
		emit(p "Renew", "false")
		if (IFUP[s] && IFADDR[s] != "") {
			emit(p "IPAddress", IFADDR[s])
			emit(p "SubnetMask", IFMASK[s])
			rt = routers(d)
			emit(p "IPRouters", rt)
			emit(p "DNSServers", dnslist(d))
			emit(p "DHCPServer", jget(d "/data/dhcpserver"))
			v = leaseleft(jget(d "/l3_device"))
			if (v != "") emit(p "LeaseTimeRemaining", v)
		}
		# requested options: udhcpc's defaults and OpenWrt's classless routes (121)
		split("1 3 6 12 15 28 42 121", a, " ")
		for (j = 1; j <= 8; j++) {
			q = p "ReqOption." key(a[j]) "."
			emit(q "Enable", bool(a[j] != 121 || u("network", s, "classlessroute", "1") != "0"))
			emit(q "Order", j)
			emit(q "Tag", a[j])
			v = a[j] == 1 ? ips2hex(IFMASK[s]) : a[j] == 3 ? ips2hex(rt) : a[j] == 6 ? ips2hex(dnslist(d)) : ""
			emitt(q "Value", IFUP[s] ? v : "", "hexBinary")
		}
		emit(p "ReqOptionNumberOfEntries", 8)
		# sent options: the host name (the system's unless configured)
		v = u("network", s, "hostname", HOSTNAME)
		nc = 0
		if (v != "" && v != "*") {
			nc++
			emit(p "SentOption." key(12) ".Enable", "true")
			emit(p "SentOption." key(12) ".Tag", 12)
			emitt(p "SentOption." key(12) ".Value", txt2hex(v), "hexBinary")
		}
		if (uhas("network", s, "vendorid")) {
			nc++
			emit(p "SentOption." key(60) ".Enable", "true")
			emit(p "SentOption." key(60) ".Tag", 60)
			emitt(p "SentOption." key(60) ".Value", txt2hex(u("network", s, "vendorid", "")), "hexBinary")
		}
		emit(p "SentOptionNumberOfEntries", nc)
	}
	emit("Device.DHCPv4.ClientNumberOfEntries", n)
}
function routers(d,    j, o, t) {
	o = ""
	for (j = 0; j < jn(d "/route"); j++) if (jget(d "/route/" j "/mask") == "0" && (t = jget(d "/route/" j "/nexthop")) ~ /\./) o = o (o == "" ? "" : ",") t
	for (j = 0; j < jn(d "/inactive/route"); j++) if (jget(d "/inactive/route/" j "/mask") == "0" && (t = jget(d "/inactive/route/" j "/nexthop")) ~ /\./) o = o (o == "" ? "" : ",") t
	return o
}
function dnslist(d,    j, o) {
	o = ""
	for (j = 0; j < jn(d "/dns-server"); j++) o = o (o == "" ? "" : ",") jget(d "/dns-server/" j)
	for (j = 0; j < jn(d "/inactive/dns-server"); j++) o = o (o == "" ? "" : ",") jget(d "/inactive/dns-server/" j)
	return o
}

# ------------------------------------------------------------------ DHCPv6
function out_dhcpv6(    i, s, p, ifc, n, d, q, np, j, k, dev, lp, m, duid, nl, a, v, nc, tag, len) {
	n = 0
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		if (IFPROTO[s] != "dhcpv6") continue
		n++
		p = "Device.DHCPv6.Client." key(s) "."
		emit(p "Enable", bool(u("network", s, "disabled", "0") != "1"))
		emit(p "Status", "Enabled")
		emit(p "Interface", "Device.IP.Interface." key(s) ".")
		emit(p "RequestAddresses", bool(u("network", s, "reqaddress", "try") != "none"))
		emit(p "RequestPrefixes", bool(u("network", s, "reqprefix", "auto") != "no"))
		emit(p "RapidCommit", "false")
		emit(p "Renew", "false")
		# DUID: the clientid option (netifd passes it as odhcp6c -c), else the
		# DUID-LL (type 3, Ethernet) odhcp6c makes of its device's MAC address
		# (a device without one, as PPP: odhcp6c takes another's; left out)
		v = tolower(u("network", s, "clientid", ""))
		dev = DUMP[s] != "" ? jget(DUMP[s] "/l3_device") : ""
		if (v == "" && dev != "" && (m = devmac(dev)) ~ /^[0-9a-fA-F:]+$/ && m !~ /^[0:]*$/) {
			v = "00030001" tolower(m)
			gsub(/:/, "", v)
		}
		if (v ~ /^([0-9a-f][0-9a-f])+$/ && length(v) <= 260) emitt(p "DUID", v, "hexBinary")
		emit(p "SuggestedT1", -1)
		emit(p "SuggestedT2", -1)
		m = ulist("network", s, "reqopts", a)
		v = ""
		for (j = 1; j <= m; j++) v = v (j > 1 ? "," : "") a[j]
		emit(p "RequestedOptions", v)
		# the options odhcp6c acts on in a server's message (its dhcpv6.c, the
		# same from the 2021 release of OpenWrt 21.02 to 24.10), and those it
		# requests, which it hands to netifd
		k = ODHCP6C_OPTS
		for (j = 1; j <= m; j++) if (a[j] ~ /^[0-9]+$/ && index("," k ",", "," a[j] ",") == 0) k = k "," a[j]
		emit(p "SupportedOptions", k)
		# sent: the sendopts list (odhcp6c -x CODE:VALUE; a 0x code takes a hex value)
		m = split(u("network", s, "sendopts", ""), a, /[ \037]+/)
		nc = 0
		for (j = 1; j <= m; j++) {
			if (!index(a[j], ":")) continue
			tag = substr(a[j], 1, index(a[j], ":") - 1)
			v = substr(a[j], index(a[j], ":") + 1)
			if (tag ~ /^0x[0-9a-fA-F]+$/) { tag = hex(substr(tag, 3)); v = tolower(v) }
			else if (tag ~ /^[0-9]+$/) v = txt2hex(v)
			else continue
			nc++
			q = p "SentOption." key(tag) "."
			emit(q "Enable", "true")
			emit(q "Tag", tag)
			emitt(q "Value", v, "hexBinary")
		}
		emit(p "SentOptionNumberOfEntries", nc)
		# received: what odhcp6c passed through to netifd (data.passthru: CODE LEN VALUE...)
		v = DUMP[s] != "" ? tolower(jget(DUMP[s] "/data/passthru")) : ""
		nc = 0
		while (length(v) >= 8 && v ~ /^[0-9a-f]+$/) {
			tag = hex(substr(v, 1, 4))
			len = hex(substr(v, 5, 4)) * 2
			if (length(v) < 8 + len) break
			nc++
			q = p "ReceivedOption." key(tag) "."
			emit(q "Tag", tag)
			emitt(q "Value", substr(v, 9, len), "hexBinary")
			v = substr(v, 9 + len)
		}
		emit(p "ReceivedOptionNumberOfEntries", nc)
	}
	emit("Device.DHCPv6.ClientNumberOfEntries", n)
	np = 0
	for (i = 1; i <= SECN["dhcp"]; i++) {
		s = SEC["dhcp", i]
		if (STYPE["dhcp", s] != "dhcp" || u("dhcp", s, "dhcpv6", "disabled") != "server") continue
		ifc = u("dhcp", s, "interface", s)
		np++
		p = "Device.DHCPv6.Server.Pool." key(s) "."
		emit(p "Enable", bool(u("dhcp", s, "ignore", "0") != "1"))
		emit(p "Status", u("dhcp", s, "ignore", "0") != "1" ? "Enabled" : "Disabled")
		emit(p "Order", np)
		emit(p "Interface", "Device.IP.Interface." key(ifc) ".")
		emit(p "IANAEnable", "true")
		emit(p "IAPDEnable", bool(u("dhcp", s, "dhcpv6_pd", "1") != "0"))
		emit(p "IAPDAddLength", 0)
		emit(p "IANAPrefixes", IFPFX[ifc])
		# options given in the configuration: DNS servers (23), search domains (24)
		nc = 0
		m = ulist("dhcp", s, "dns", a)
		v = ""
		for (j = 1; j <= m; j++) if (index(a[j], ":")) v = v ip6hex(a[j])
		if (v != "") {
			nc++
			emit(p "Option." key(23) ".Enable", "true")
			emit(p "Option." key(23) ".Tag", 23)
			emitt(p "Option." key(23) ".Value", v, "hexBinary")
		}
		m = ulist("dhcp", s, "domain", a)
		v = ""
		for (j = 1; j <= m; j++) v = v dnsname(a[j])
		if (v != "") {
			nc++
			emit(p "Option." key(24) ".Enable", "true")
			emit(p "Option." key(24) ".Tag", 24)
			emitt(p "Option." key(24) ".Value", v, "hexBinary")
		}
		emit(p "OptionNumberOfEntries", nc)
		# clients: odhcpd's leases on the interface's device
		dev = IFDEV[ifc]
		lp = "dhcp.ipv6leases/device/" dev "/leases"
		nl = 0
		for (j = 0; j < jn(lp); j++) {
			duid = jget(lp "/" j "/duid")
			q = p "Client." key(duid) "."
			nl++
			emit(q "Active", "true")
			for (k = 0; k < jn(lp "/" j "/ipv6-addr"); k++) {
				a1 = jget(lp "/" j "/ipv6-addr/" k "/address")
				emit(q "IPv6Address." key(a1) ".IPAddress", a1)
				emit(q "IPv6Address." key(a1) ".PreferredLifetime", life(jget(lp "/" j "/ipv6-addr/" k "/preferred-lifetime")))
				emit(q "IPv6Address." key(a1) ".ValidLifetime", life(jget(lp "/" j "/ipv6-addr/" k "/valid-lifetime")))
				m = duidmac(duid)
				if (m != "") { V6OF[m] = V6OF[m] (V6OF[m] == "" ? "" : LS) a1 }
			}
			emit(q "IPv6AddressNumberOfEntries", jn(lp "/" j "/ipv6-addr"))
		}
		emit(p "ClientNumberOfEntries", nl)
	}
	emit("Device.DHCPv6.Server.PoolNumberOfEntries", np)
	emit("Device.DHCPv6.Server.Enable", bool(np > 0))
}
# IPv6 text -> 32 hex digits ("" if it is not one)
function ip6hex(t,    h, t2, n, i, a, b, o, miss, k, cc, j) {
	t = tolower(t)
	if (t !~ /^[0-9a-f:]+$/) return ""
	n = split(t, a, "::")
	if (n > 2) return ""
	o = ""
	miss = 8
	h = ""
	for (i = 1; i <= n; i++) {
		t2 = a[i]
		b[i] = ""
		if (t2 == "") continue
		k = split(t2, cc, ":")
		miss -= k
		for (j = 1; j <= k; j++) b[i] = b[i] sprintf("%04x", hex(cc[j]))
	}
	if (n == 1) return miss == 0 ? b[1] : ""
	if (miss < 1) return ""
	for (i = 0; i < miss; i++) h = h "0000"
	return b[1] h b[2]
}
# a domain name -> DNS wire format (length-prefixed labels, then 0), in hex
function dnsname(d,    n, a, i, o) {
	sub(/\.$/, "", d)
	n = split(d, a, ".")
	o = ""
	for (i = 1; i <= n; i++) o = o sprintf("%02x", length(a[i])) txt2hex(a[i])
	return o "00"
}

# the MAC address inside a DUID-LLT (type 1) or DUID-LL (type 3), hardware type 1
function duidmac(d,    h, i, o) {
	if (substr(d, 1, 8) == "00010001" && length(d) == 28) h = substr(d, 17)
	else if (substr(d, 1, 8) == "00030001" && length(d) == 20) h = substr(d, 9)
	else return ""
	o = ""
	for (i = 1; i <= 12; i += 2) o = o (i > 1 ? ":" : "") substr(h, i, 2)
	return tolower(o)
}

# ------------------------------------------------------------------ RA, ND
function out_ra(    i, s, n, p, ifc, fl, a, m, j, man, oth) {
	n = 0
	for (i = 1; i <= SECN["dhcp"]; i++) {
		s = SEC["dhcp", i]
		if (STYPE["dhcp", s] != "dhcp" || u("dhcp", s, "ra", "disabled") !~ /^(server|relay)$/) continue
		ifc = u("dhcp", s, "interface", s)
		n++
		p = "Device.RouterAdvertisement.InterfaceSetting." key(s) "."
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Interface", "Device.IP.Interface." key(ifc) ".")
		emit(p "Prefixes", IFPFX[ifc])
		emit(p "ManualPrefixes", "")
		emit(p "MaxRtrAdvInterval", u("dhcp", s, "ra_maxinterval", "600"))
		emit(p "MinRtrAdvInterval", u("dhcp", s, "ra_mininterval", "200"))
		emit(p "AdvDefaultLifetime", u("dhcp", s, "ra_lifetime", "1800"))
		m = ulist("dhcp", s, "ra_flags", a)
		man = oth = 0
		for (j = 1; j <= m; j++) { if (a[j] == "managed-config") man = 1; if (a[j] == "other-config") oth = 1; if (a[j] == "home-agent") ha = 1 }
		if (!m && uhas("dhcp", s, "ra_management")) { man = u("dhcp", s, "ra_management", "1") + 0 >= 2; oth = u("dhcp", s, "ra_management", "1") + 0 >= 1 }
		emit(p "AdvManagedFlag", bool(man))
		emit(p "AdvOtherConfigFlag", bool(oth))
		emit(p "AdvMobileAgentFlag", bool(ha))
		fl = u("dhcp", s, "ra_preference", "medium")
		emit(p "AdvPreferredRouterFlag", fl == "high" ? "High" : fl == "low" ? "Low" : "Medium")
		emit(p "AdvNDProxyFlag", "false")
		emit(p "AdvLinkMTU", u("dhcp", s, "ra_mtu", "0"))
		emit(p "AdvReachableTime", u("dhcp", s, "ra_reachabletime", "0"))
		emit(p "AdvRetransTimer", u("dhcp", s, "ra_retranstime", "0"))
		emit(p "AdvCurHopLimit", u("dhcp", s, "ra_hoplimit", "0"))
		emit(p "OptionNumberOfEntries", raopts(p, s))
	}
	emit("Device.RouterAdvertisement.Enable", bool(n > 0))
	emit("Device.RouterAdvertisement.InterfaceSettingNumberOfEntries", n)
}
# The DNS options odhcpd puts in its RAs (server mode, ra_dns on) from the
# configured `dns` and `domain` lists: RDNSS (25) and DNSSL (31), their
# data after type and length (reserved, lifetime, then addresses or
# wire-format names padded as odhcpd pads them). Their lifetime is the RA
# lifetime: ra_lifetime, or 3 x MaxRtrAdvInterval (at most 1800) when unset.
# With neither list odhcpd picks an address or search domain of its own:
# left out then.
function raopts(p, s,    n, a, j, mx, lt, h, k) {
	if (u("dhcp", s, "ra", "") != "server" || u("dhcp", s, "ra_dns", "1") == "0") return 0
	mx = u("dhcp", s, "ra_maxinterval", "600") + 0
	if (mx > 1800) mx = 1800
	if (mx < 4) mx = 4
	lt = uhas("dhcp", s, "ra_lifetime") ? u("dhcp", s, "ra_lifetime", "") + 0 : 3 * mx
	if (uhas("dhcp", s, "ra_lifetime") && lt > 0 && lt < mx) lt = mx
	if (lt > 9000 && uhas("dhcp", s, "ra_lifetime")) lt = 9000
	lt = sprintf("0000%08x", lt)
	k = 0
	h = ""
	n = ulist("dhcp", s, "dns", a)
	for (j = 1; j <= n; j++) if (ip6hex(a[j]) != "") h = h ip6hex(a[j])
	if (h != "") {
		k++
		emit(p "Option." key(25) ".Enable", "true")
		emit(p "Option." key(25) ".Tag", 25)
		emitt(p "Option." key(25) ".Value", lt h, "hexBinary")
	}
	h = ""
	n = ulist("dhcp", s, "domain", a)
	for (j = 1; j <= n; j++) h = h dnsname(a[j])
	if (h != "") {
		# (search_len rounded up to 8, plus 8) bytes after the lifetime
		n = (int((length(h) / 2 + 7) / 8) * 8 + 8) * 2
		while (length(h) < n) h = h "00"
		k++
		emit(p "Option." key(31) ".Enable", "true")
		emit(p "Option." key(31) ".Tag", 31)
		emitt(p "Option." key(31) ".Value", lt h, "hexBinary")
	}
	return k
}
function out_nd(    i, s, dev, n, p, v) {
	n = 0
	emit("Device.NeighborDiscovery.Enable", "true")
	for (i = 1; i <= NIF; i++) {
		s = IFN[i]
		dev = IFDEV[s]
		if (dev == "" || dev == "lo" || u("network", s, "ipv6", "1") == "0") continue
		if (IFPROTO[s] != "dhcpv6" && IFFIRST[dev]++) continue
		n++
		p = "Device.NeighborDiscovery.InterfaceSetting." key(s) "."
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Interface", "Device.IP.Interface." key(s) ".")
		emit(p "NUDEnable", "true")
		# router solicitations: odhcp6c sends them on DHCPv6 client interfaces
		emit(p "RSEnable", bool(IFPROTO[s] == "dhcpv6"))
		v = line1(R "/proc/sys/net/ipv6/neigh/" dev "/retrans_time_ms")
		if (v != "") emit(p "RetransTimer", v)
		v = line1(R "/proc/sys/net/ipv6/conf/" dev "/router_solicitation_interval")
		if (v != "") emit(p "RtrSolicitationInterval", v * 1000)
		v = line1(R "/proc/sys/net/ipv6/conf/" dev "/router_solicitations")
		if (v != "" && v >= 0) emit(p "MaxRtrSolicitations", v) # (-1: no limit, which TR-181 cannot say)
	}
	emit("Device.NeighborDiscovery.InterfaceSettingNumberOfEntries", n)
}

# ------------------------------------------------------------------ Hosts
function lanside(dev) { return !(NETZONE[DEV2IF[dev]] != "" && u("firewall", ZONESEC[NETZONE[DEV2IF[dev]]], "masq", "0") == "1") }
function addhost(mac) {
	if (mac == "" || mac == "00:00:00:00:00:00") return
	if (!(mac in HOST)) { NH++; HOSTS[NH] = mac; HOST[mac] = 1 }
}
function addv4(mac, ip) { if (ip != "" && index(LS HV4[mac] LS, LS ip LS) == 0) HV4[mac] = HV4[mac] (HV4[mac] == "" ? "" : LS) ip }
function addv6(mac, ip) { if (ip != "" && index(LS HV6[mac] LS, LS ip LS) == 0) HV6[mac] = HV6[mac] (HV6[mac] == "" ? "" : LS) ip }
function out_hosts(    i, j, m, n, a, p, hh, ip, lan, l1, k, active) {
	lan = ""
	for (i = 1; i <= NL; i++) { m = LMAC[i]; addhost(m); addv4(m, LIP[i]); if (LNAME[i] != "") HNAME[m] = LNAME[i]; HDEV[m] = "" }
	for (i = 1; i <= NA; i++) {
		if (!lanside(ADEV[i])) continue
		m = AMAC[i]
		addhost(m)
		addv4(m, AIP[i])
		HDEV[m] = ADEV[i]
		if (AFL[i] == "0x2" || AFL[i] == "0x6") HACT[m] = 1
	}
	n = jn("luci-rpc.getHostHints")
	for (i = 1; i <= n; i++) {
		m = tolower(JK["luci-rpc.getHostHints", i])
		hh = "luci-rpc.getHostHints/" JK["luci-rpc.getHostHints", i]
		addhost(m)
		if (HNAME[m] == "" && jget(hh "/name") != "") HNAME[m] = jget(hh "/name")
		for (j = 0; j < jn(hh "/ipaddrs"); j++) addv4(m, jget(hh "/ipaddrs/" j))
		for (j = 0; j < jn(hh "/ip6addrs"); j++) addv6(m, jget(hh "/ip6addrs/" j))
	}
	for (m in V6OF) { addhost(m); k = split(V6OF[m], a, LS); for (j = 1; j <= k; j++) addv6(m, a[j]) }
	for (m in STAREF) { addhost(m); HACT[m] = 1 }
	# wired hosts' layer 1: the one physical port under the LAN bridge, if only one
	l1 = ""
	for (i = 1; i <= NETH; i++) if (!upstream(ETH[i]) || NETH == 1) l1 = l1 == "" ? ETH[i] : "-"
	for (i = 1; i <= NH; i++) {
		m = HOSTS[i]
		p = "Device.Hosts.Host." key(m) "."
		emit(p "PhysAddress", m)
		k = split(HV4[m], a, LS)
		emit(p "IPAddress", k ? a[1] : (HV6[m] != "" ? substr(HV6[m] LS, 1, index(HV6[m] LS, LS) - 1) : ""))
		for (j = 1; j <= k; j++) emit(p "IPv4Address." key(a[j]) ".IPAddress", a[j])
		emit(p "IPv4AddressNumberOfEntries", k)
		k = split(HV6[m], a, LS)
		for (j = 1; j <= k; j++) emit(p "IPv6Address." key(a[j]) ".IPAddress", a[j])
		emit(p "IPv6AddressNumberOfEntries", k)
		j = LEASEOF[m]
		emit(p "AddressSource", j ? "DHCP" : "Static")
		emit(p "DHCPClient", (m in CLIENTREF) ? CLIENTREF[m] : "")
		emit(p "LeaseTimeRemaining", !j ? 0 : (LEXP[j] == 0 ? -1 : (LEXP[j] - NOW > 0 ? LEXP[j] - NOW : 0)))
		emit(p "AssociatedDevice", (m in STAREF) ? STAREF[m] : "")
		emit(p "Layer1Interface", (m in STASSID) ? STASSID[m] : (l1 != "" && l1 != "-" ? "Device.Ethernet.Interface." key(l1) "." : ""))
		ip = k ? "" : ""
		emit(p "Layer3Interface", HDEV[m] != "" ? ipref(HDEV[m]) : hostl3(m))
		emit(p "HostName", HNAME[m])
		emit(p "Active", bool((m in HACT) || (j && LEXP[j] == 0 && 0)))
	}
	emit("Device.Hosts.HostNumberOfEntries", NH + 0)
}
function hostl3(m,    a, ifc) {
	split(HV4[m], a, LS)
	for (ifc in POOLNET) if (a[1] != "" && ip2n(a[1]) - ip2n(a[1]) % p2(32 - POOLBITS[ifc]) == POOLNET[ifc]) return "Device.IP.Interface." key(ifc) "."
	return ""
}

# ------------------------------------------------------------------ Firewall
function out_firewall(    i, s, wz, inp, fwd, lvl) {
	if (!SECN["firewall"]) return
	emit("Device.Firewall.Enable", "true")
	emit("Device.Firewall.Version", FWVER)
	# the last change of the firewall configuration file
	if ("firewall" in MTIME) emit("Device.Firewall.LastChange", iso(MTIME["firewall"]))
	# the level: the zone with masquerading (the WAN)
	wz = ""
	for (i = 1; i <= SECN["firewall"]; i++) {
		s = SEC["firewall", i]
		if (STYPE["firewall", s] == "zone" && u("firewall", s, "masq", "0") == "1") { wz = s; break }
	}
	lvl = "Advanced"
	if (wz != "") {
		inp = toupper(u("firewall", wz, "input", "REJECT"))
		fwd = toupper(u("firewall", wz, "forward", "REJECT"))
		if (inp == "ACCEPT" && fwd == "ACCEPT") lvl = "Off"
		else if (inp != "ACCEPT" && fwd != "ACCEPT") lvl = (STYPE["firewall", "rk_high"] == "rule") ? "High" : "Low"
	}
	emit("Device.Firewall.Config", lvl)
	emit("Device.Firewall.Type", "Stateful")
}
