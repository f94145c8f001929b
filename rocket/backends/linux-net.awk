# linux-net.awk: the kernel's network view -> TR-181 records (see linux-net).
#
# Input: sections started by a line "@NAME":
#   @A   `ip -j -d -s addr show`     (iproute2 JSON)
#   @R4  `ip -j -4 route show table main`, @R6 the same for IPv6
#   @BV  `bridge -j vlan show`
#   @IPO `ip -o addr show`           (busybox ip, one line per address)
#   @BRIF "BRIDGE PORT" lines        (busybox path: from /sys/class/net/*/brif/*)
# Without @A the links come from /proc/net/dev + /sys/class/net, routes
# from /proc/net/route and /proc/net/ipv6_route (the busybox path).
# Interface names are the instance keys ({br-lan}); routes are keyed by
# destination, gateway, device and metric.

/^@/ { sec = substr($0, 2); jreset(); next }
sec == "A" || sec == "R4" || sec == "R6" || sec == "BV" { jfeed($0, sec); next }
sec == "IPO" { ipo_line(); next }
sec == "BRIF" && NF == 2 { BRPORT[$2] = $1; next }

function addif(n) {
	if (n in SEEN) return
	SEEN[n] = 1
	IFN[++NIF] = n
}

function addaddr(fam, ifn, ip, plen, dyn, scope, valid, pref, flags) {
	NA++
	AF[NA] = fam; AIF[NA] = ifn; AIP[NA] = ip; APL[NA] = plen + 0; ADYN[NA] = dyn
	ASC[NA] = scope; AVAL[NA] = valid == "" ? 4294967295 : valid + 0; APRE[NA] = pref == "" ? 4294967295 : pref + 0; AFL[NA] = " " flags " "
}

function addroute(fam, dst, gw, dev, metric, proto, expires) {
	NR++
	RF[NR] = fam; RDST[NR] = dst; RGW[NR] = gw; RDEV[NR] = dev; RMET[NR] = metric
	RPRO[NR] = proto; REXP[NR] = expires
}

# busybox `ip -o addr`: "4: eth0    inet 192.0.2.2/24 brd ... scope global eth0\ valid_lft forever ..."
function ipo_line(   n, i, fam, ip, plen, dyn, scope, valid, pref, flags) {
	n = $2
	sub(/@.*/, "", n)
	fam = $3 == "inet" ? 4 : $3 == "inet6" ? 6 : 0
	if (!fam) return
	ip = $4
	plen = ip
	sub(/\/.*/, "", ip)
	sub(/.*\//, "", plen)
	if (plen == ip) plen = fam == 4 ? 32 : 128
	dyn = 0; scope = ""; valid = "forever"; pref = "forever"; flags = ""
	for (i = 5; i <= NF; i++) {
		if ($i == "scope") scope = $(i + 1)
		else if ($i == "dynamic") dyn = 1
		else if ($i == "valid_lft") valid = $(i + 1)
		else if ($i == "preferred_lft") pref = $(i + 1)
		else if ($i == "tentative" || $i == "deprecated" || $i == "dadfailed" || $i == "noprefixroute" || $i == "mngtmpaddr" || $i == "temporary") flags = flags " " $i
	}
	sub(/sec$/, "", valid)
	sub(/sec$/, "", pref)
	if (valid == "forever") valid = 4294967295
	if (pref == "forever") pref = 4294967295
	addaddr(fam, n, ip, plen, dyn, scope, valid, pref, flags)
}

# ------------------------------------------------------------ sources
function from_json(   i, p, n, f, fl, j, q, k) {
	for (i = 0; i < JN["A"]; i++) {
		p = "A." i
		n = J[p ".ifname"]
		if (n == "") continue
		addif(n)
		IDX[n] = J[p ".ifindex"]
		for (f = 0; f < JN[p ".flags"]; f++) {
			fl = J[p ".flags." f]
			if (fl == "UP") UP[n] = 1
			if (fl == "LOWER_UP") LOWER[n] = 1
		}
		OPER[n] = tolower(J[p ".operstate"])
		MTU[n] = J[p ".mtu"]
		MAC[n] = J[p ".address"]
		LT[n] = J[p ".link_type"]
		KIND[n] = J[p ".linkinfo.info_kind"]
		MASTER[n] = J[p ".master"]
		if (KIND[n] == "vlan") {
			VID[n] = J[p ".linkinfo.info_data.id"]
			PARENT[n] = J[p ".link"]
		}
		for (j = 0; j < JN[p ".addr_info"]; j++) {
			q = p ".addr_info." j
			k = ""
			if (J[q ".tentative"] == "true") k = k " tentative"
			if (J[q ".deprecated"] == "true") k = k " deprecated"
			if (J[q ".dadfailed"] == "true") k = k " dadfailed"
			if (J[q ".noprefixroute"] == "true") k = k " noprefixroute"
			if (J[q ".mngtmpaddr"] == "true") k = k " mngtmpaddr"
			if (J[q ".temporary"] == "true") k = k " temporary"
			addaddr(J[q ".family"] == "inet6" ? 6 : 4, n, J[q ".local"], J[q ".prefixlen"],
				J[q ".dynamic"] == "true", J[q ".scope"], J[q ".valid_life_time"],
				J[q ".preferred_life_time"], k)
		}
	}
	json_routes("R4", 4)
	json_routes("R6", 6)
	for (i = 0; i < JN["BV"]; i++) {
		p = "BV." i
		for (j = 0; j < JN[p ".vlans"]; j++) {
			q = p ".vlans." j
			NBV++
			BVP[NBV] = J[p ".ifname"]
			BVID[NBV] = J[q ".vlan"]
			BVPV[NBV] = 0
			BVU[NBV] = 0
			for (f = 0; f < JN[q ".flags"]; f++) {
				if (J[q ".flags." f] == "PVID") BVPV[NBV] = 1
				if (J[q ".flags." f] == "Egress Untagged") BVU[NBV] = 1
			}
		}
	}
}

function json_routes(s, fam,   i, p, dst, type) {
	for (i = 0; i < JN[s]; i++) {
		p = s "." i
		type = J[p ".type"]
		if (type != "" && type != "unicast") continue
		if (J[p ".dev"] == "") continue
		dst = J[p ".dst"]
		if (dst == "default") dst = fam == 4 ? "0.0.0.0/0" : "::/0"
		else if (index(dst, "/") == 0) dst = dst (fam == 4 ? "/32" : "/128")
		addroute(fam, dst, J[p ".gateway"], J[p ".dev"], J[p ".metric"] == "" ? 0 : J[p ".metric"],
			J[p ".protocol"] == "" ? "boot" : J[p ".protocol"], J[p ".expires"])
		RPREF[NR] = J[p ".pref"]
	}
}

function from_proc(   l, a, n, d, t, ue, k, f, i, ip, x) {
	f = "/proc/net/dev"
	while ((getline l < f) > 0) {
		if (index(l, ":") == 0) continue
		n = l
		sub(/:.*/, "", n)
		gsub(/ /, "", n)
		addif(n)
		d = "/sys/class/net/" n "/"
		IDX[n] = readfile(d "ifindex")
		OPER[n] = readfile(d "operstate")
		UP[n] = hex(readfile(d "flags")) % 2
		LOWER[n] = UP[n] && readfile(d "carrier") == "1"  # unreadable when down
		MTU[n] = readfile(d "mtu")
		MAC[n] = readfile(d "address")
		t = readfile(d "type")
		LT[n] = t == 1 ? "ether" : t == 772 ? "loopback" : t == 512 ? "ppp" : "none"
		ue = d "uevent"
		while ((getline k < ue) > 0)
			if (k ~ /^DEVTYPE=/) KIND[n] = substr(k, 9)
		close(ue)
		if (KIND[n] == "wlan") KIND[n] = "wifi"
		if (n in BRPORT) MASTER[n] = BRPORT[n]
	}
	close(f)
	f = "/proc/net/vlan/config"
	while ((getline l < f) > 0) {
		if (split(l, a, /[ \t]*\|[ \t]*/) != 3 || a[2] !~ /^[0-9]+$/) continue
		gsub(/[ \t]/, "", a[1])
		gsub(/[ \t]/, "", a[3])
		KIND[a[1]] = "vlan"
		VID[a[1]] = a[2]
		PARENT[a[1]] = a[3]
	}
	close(f)
	if (!NA) {
		# no `ip` at all: the IPv6 addresses are still in /proc
		f = "/proc/net/if_inet6"
		while ((getline l < f) > 0) {
			split(l, a, /[ \t]+/)
			ip = ""
			for (i = 0; i < 8; i++) {
				x = substr(a[1], i * 4 + 1, 4)
				sub(/^0+/, "", x)
				ip = ip (i ? ":" : "") (x == "" ? "0" : x)
			}
			addaddr(6, a[6], v6short(ip), hex(a[3]), hex(a[5]) % 256 < 128, "", 4294967295, 4294967295,
				(int(hex(a[5]) / 64) % 2 ? "tentative" : "") (int(hex(a[5]) / 32) % 2 ? " deprecated" : ""))
		}
		close(f)
	}
	f = "/proc/net/route"
	while ((getline l < f) > 0) {
		split(l, a, /[ \t]+/)
		if (a[1] == "Iface" || hex(a[4]) % 2 == 0) continue
		# RTF_GATEWAY routes were added by someone; the others are the kernel's
		addroute(4, hexip(a[2]) "/" masklen(hexip(a[8])), hex(a[3]) ? hexip(a[3]) : "", a[1], a[7],
			int(hex(a[4]) / 2) % 2 ? "boot" : "kernel", "")
	}
	close(f)
	f = "/proc/net/ipv6_route"
	while ((getline l < f) > 0) {
		split(l, a, /[ \t]+/)
		t = hex(a[9])
		# skip down, cached (0x01000000), reject (0x200), local (0x80000000),
		# anycast (0x100000) and multicast routes: the main table's unicast ones stay
		if (t % 2 == 0 || a[10] == "lo" || int(t / 16777216) % 2 || int(t / 512) % 2 || t >= 2147483648 || int(t / 1048576) % 2 || a[1] ~ /^ff/) continue
		addroute(6, hexip6(a[1]) "/" hex(a[2]), a[5] ~ /^0+$/ ? "" : hexip6(a[5]), a[10], hex(a[6]),
			int(t / 262144) % 2 ? "ra" : int(t / 2) % 2 ? "boot" : "kernel", "")
	}
	close(f)
}

function hexip(h) {  # /proc/net/route: little-endian hex
	return hex(substr(h, 7, 2)) "." hex(substr(h, 5, 2)) "." hex(substr(h, 3, 2)) "." hex(substr(h, 1, 2))
}

function hexip6(h,   i, x, ip) {
	ip = ""
	for (i = 0; i < 8; i++) {
		x = substr(h, i * 4 + 1, 4)
		sub(/^0+/, "", x)
		ip = ip (i ? ":" : "") (x == "" ? "0" : x)
	}
	return v6short(ip)
}

# ------------------------------------------------------------ rendering
function status(n) {
	if (!UP[n]) return "Down"
	if (OPER[n] == "up") return "Up"
	if (OPER[n] == "dormant") return "Dormant"
	if (OPER[n] == "notpresent") return "NotPresent"
	if (OPER[n] == "lowerlayerdown") return "LowerLayerDown"
	if (OPER[n] == "testing") return "Testing"
	if (OPER[n] == "unknown") return LOWER[n] ? "Up" : "Down"
	return "Down"
}

function stats(p, n,   d, f, l, a, i) {
	if (!(n in RXB)) return
	emit(p "Stats.BytesSent", TXB[n])
	emit(p "Stats.BytesReceived", RXB[n])
	emit(p "Stats.PacketsSent", TXP[n])
	emit(p "Stats.PacketsReceived", RXP[n])
	emit(p "Stats.ErrorsSent", sprintf("%.0f", TXE[n] % 4294967296))
	emit(p "Stats.ErrorsReceived", sprintf("%.0f", RXE[n] % 4294967296))
	emit(p "Stats.DiscardPacketsSent", sprintf("%.0f", TXD[n] % 4294967296))
	emit(p "Stats.DiscardPacketsReceived", sprintf("%.0f", RXD[n] % 4294967296))
	emit(p "Stats.MulticastPacketsReceived", RXM[n])
	l = readfile("/sys/class/net/" n "/statistics/rx_nohandler")
	if (l != "") emit(p "Stats.UnknownProtoPacketsReceived", sprintf("%.0f", l % 4294967296))
}

function lifetime(secs) {
	if (secs == "" || secs + 0 >= 4294967295) return "9999-12-31T23:59:59Z"
	return isotime(NOW + secs)
}

# LastChange (lastchange.awk): the state is Status, ifindex and the kernel's
# carrier_changes count.
function lcstate(n) {
	return status(n) " " IDX[n] " " readfile("/sys/class/net/" n "/carrier_changes")
}

# Routing.RouteInformation (RFC 4191 route information options): the
# kernel installs each as a route of protocol "ra" through the advertising
# router (prefix routes of RAs have no gateway; the default route is not
# an RIO). One entry per interface (TR-181's key): its first such route.
# Only `ip -j` says the preference and lifetime: the busybox path has none.
function route_info(   i, n, d, q, on, k, a) {
	if (!(JN["A"] > 0)) return
	for (i = 1; i <= NIF; i++) {
		d = "/proc/sys/net/ipv6/conf/" IFN[i] "/"
		a = readfile(d "accept_ra")
		if ((a == "2" || (a == "1" && readfile(d "forwarding") == "0")) && readfile(d "accept_ra_rtr_pref") == "1" && readfile(d "accept_ra_rt_info_max_plen") + 0 > 0) on = 1
	}
	emit("Device.Routing.RouteInformation.Enable", bool(on))
	k = 0
	for (i = 1; i <= NR; i++) {
		n = RDEV[i]
		if (RF[i] != 6 || RPRO[i] != "ra" || RGW[i] == "" || RDST[i] == "::/0" || !(n in IPIF) || (n in RIDONE)) continue
		RIDONE[n] = 1
		k++
		q = "Device.Routing.RouteInformation.InterfaceSetting.{" n "}."
		emit(q "Status", "ForwardingEntryCreated")
		emit(q "Interface", "Device.IP.Interface.{" n "}")
		emit(q "SourceRouter", RGW[i])
		if (RPREF[i] ~ /^(high|medium|low)$/) emit(q "PreferredRouteFlag", toupper(substr(RPREF[i], 1, 1)) substr(RPREF[i], 2))
		emit(q "Prefix", RDST[i])
		emit(q "RouteLifetime", REXP[i] != "" ? isotime(NOW + REXP[i]) : "9999-12-31T23:59:59Z")
	}
	emit("Device.Routing.RouteInformation.InterfaceSettingNumberOfEntries", k)
}

function is_eth(n) { return LT[n] == "ether" && (KIND[n] == "" || KIND[n] == "veth") }

function render(   i, n, p, neth, nlink, nvt, nip, e, k, a4, a6, pf, pfx, ip, plen, origin, nb, br, ports,
		np, j, nv, nvp, vids, key, dst, fam, n4, n6, ll, d, s, c, v6on, nd, q, up) {
	for (i = 1; i <= NR; i++)
		if ((RDST[i] == "0.0.0.0/0" || RDST[i] == "::/0") && RDEV[i] != "") {
			UPSTREAM[RDEV[i]] = 1
			if (PARENT[RDEV[i]] != "") UPSTREAM[PARENT[RDEV[i]]] = 1
		}
	neth = nlink = nvt = nip = nb = 0
	for (i = 1; i <= NIF; i++) {
		n = IFN[i]
		if (KIND[n] == "ifb") continue
		if (is_eth(n)) {
			p = "Device.Ethernet.Interface.{" n "}."
			neth++
			emit(p "Enable", bool(UP[n]))
			emit(p "Status", status(n))
			emit(p "Alias", "cpe-" n)
			emit(p "Name", n)
			emit(p "LowerLayers", "")
			lastchange(p, n, lcstate(n))
			emit(p "Upstream", bool(n in UPSTREAM))
			emit(p "MACAddress", MAC[n])
			# speed and duplex fail to read (EINVAL) without a carrier
			s = status(n) == "Up" ? readfile("/sys/class/net/" n "/speed") : ""
			if (s ~ /^[0-9]+$/ && s + 0 > 0) {
				emit(p "MaxBitRate", s)
				emit(p "CurrentBitRate", s)
			}
			d = s != "" ? readfile("/sys/class/net/" n "/duplex") : ""
			if (d == "full") emit(p "DuplexMode", "Full")
			else if (d == "half") emit(p "DuplexMode", "Half")
			stats(p, n)
		}
		if (KIND[n] == "bridge") BR[++nb] = n
		if (MASTER[n] != "") { PORTS[MASTER[n]] = PORTS[MASTER[n]] " " n; continue }
		if (LT[n] == "ether" && KIND[n] != "vlan") {
			p = "Device.Ethernet.Link.{" n "}."
			nlink++
			emit(p "Enable", bool(UP[n]))
			emit(p "Status", status(n))
			emit(p "Alias", "cpe-" n)
			emit(p "Name", n)
			ll = ""
			if (KIND[n] == "bridge") ll = "Device.Bridging.Bridge.{" n "}.Port.{" n "}"
			else if (is_eth(n)) ll = "Device.Ethernet.Interface.{" n "}"
			else if (KIND[n] == "wifi") ll = "Device.WiFi.SSID.{" n "}"
			emit(p "LowerLayers", ll)
			lastchange(p, n, lcstate(n))
			emit(p "MACAddress", MAC[n])
			stats(p, n)
			LINKOF[n] = "Device.Ethernet.Link.{" n "}"
		}
		if (KIND[n] == "vlan" && VID[n] != "") {
			p = "Device.Ethernet.VLANTermination.{" n "}."
			nvt++
			emit(p "Enable", bool(UP[n]))
			emit(p "Status", status(n))
			emit(p "Alias", "cpe-" n)
			emit(p "Name", n)
			emit(p "LowerLayers", PARENT[n] != "" ? "Device.Ethernet.Link.{" PARENT[n] "}" : "")
			emit(p "VLANID", VID[n])
			lastchange(p, n, lcstate(n))
			stats(p, n)
			LINKOF[n] = "Device.Ethernet.VLANTermination.{" n "}"
		}
		# IP.Interface
		p = "Device.IP.Interface.{" n "}."
		nip++
		emit(p "Enable", bool(UP[n]))
		emit(p "Status", status(n))
		emit(p "Alias", "cpe-" n)
		emit(p "Name", n)
		emit(p "Type", LT[n] == "loopback" ? "Loopback" : "Normal")
		emit(p "Loopback", bool(LT[n] == "loopback"))
		emit(p "LowerLayers", LINKOF[n])
		lastchange(p, n, lcstate(n))
		emit(p "Router", "Device.Routing.Router.1")
		emit(p "Reset", "false")
		if (MTU[n] + 0 >= 64 && MTU[n] + 0 <= 65535) emit(p "MaxMTUSize", MTU[n])
		emit(p "IPv4Enable", "true")
		v6on = readfile("/proc/sys/net/ipv6/conf/" n "/disable_ipv6")
		if (v6on != "") emit(p "IPv6Enable", bool(v6on == "0"))
		n4 = n6 = 0
		delete PFX
		for (a4 = 1; a4 <= NA; a4++) {
			if (AIF[a4] != n) continue
			ip = AIP[a4]
			if (AF[a4] == 4) {
				q = p "IPv4Address.{" ip "}."
				n4++
				emit(q "Enable", "true")
				emit(q "Status", "Enabled")
				emit(q "Alias", "cpe-" ip)
				emit(q "IPAddress", ip)
				emit(q "SubnetMask", mask(APL[a4]))
				emit(q "AddressingType", ip ~ /^169\.254\./ ? "AutoIP" : (ADYN[a4] || AVAL[a4] < 4294967295) ? "DHCP" : "Static")
				continue
			}
			q = p "IPv6Address.{" ip "}."
			n6++
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "Alias", "cpe-" ip)
			emit(q "IPAddress", ip)
			emit(q "IPAddressStatus", index(AFL[a4], " dadfailed ") ? "Duplicate" : index(AFL[a4], " tentative ") ? "Tentative" : index(AFL[a4], " deprecated ") ? "Deprecated" : "Preferred")
			origin = ip == "::1" ? "WellKnown" : (ADYN[a4] || ASC[a4] == "link" || index(AFL[a4], " temporary ")) ? "AutoConfigured" : "Static"
			emit(q "Origin", origin)
			emit(q "PreferredLifetime", lifetime(APRE[a4]))
			emit(q "ValidLifetime", lifetime(AVAL[a4]))
			if (APL[a4] < 128 && ASC[a4] != "link" && ASC[a4] != "host") {
				pfx = v6prefix(ip, APL[a4])
				emit(q "Prefix", p "IPv6Prefix.{" pfx "}")
				if (!(pfx in PFX)) {
					PFX[pfx] = a4
				}
			}
		}
		e = 0
		for (pfx in PFX) {
			a4 = PFX[pfx]
			q = p "IPv6Prefix.{" pfx "}."
			e++
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "Alias", "cpe-" pfx)
			emit(q "Prefix", pfx)
			emit(q "PrefixStatus", index(AFL[a4], " deprecated ") ? "Deprecated" : "Preferred")
			emit(q "Origin", ADYN[a4] ? "AutoConfigured" : "Static")
			emit(q "StaticType", ADYN[a4] ? "Inapplicable" : "Static")
			emit(q "OnLink", bool(!index(AFL[a4], " noprefixroute ")))
			emit(q "PreferredLifetime", lifetime(APRE[a4]))
			emit(q "ValidLifetime", lifetime(AVAL[a4]))
		}
		emit(p "IPv4AddressNumberOfEntries", n4)
		emit(p "IPv6AddressNumberOfEntries", n6)
		emit(p "IPv6PrefixNumberOfEntries", e)
		stats(p, n)
		IPIF[n] = 1
	}
	emit("Device.Ethernet.InterfaceNumberOfEntries", neth)
	emit("Device.Ethernet.LinkNumberOfEntries", nlink)
	emit("Device.Ethernet.VLANTerminationNumberOfEntries", nvt)
	emit("Device.IP.InterfaceNumberOfEntries", nip)
	emit("Device.IP.IPv4Capable", "true")
	emit("Device.IP.IPv4Enable", "true")
	emit("Device.IP.IPv4Status", "Enabled")
	c = readfile("/proc/sys/net/ipv6/conf/all/disable_ipv6")
	emit("Device.IP.IPv6Capable", bool(c != ""))
	if (c != "") {
		emit("Device.IP.IPv6Enable", bool(c == "0"))
		emit("Device.IP.IPv6Status", c == "0" ? "Enabled" : "Disabled")
	}

	# Bridging
	for (i = 1; i <= nb; i++) {
		br = BR[i]
		p = "Device.Bridging.Bridge.{" br "}."
		c = readfile("/sys/class/net/" br "/bridge/vlan_filtering")
		emit(p "Enable", bool(UP[br]))
		emit(p "Status", UP[br] ? "Enabled" : "Disabled")
		emit(p "Alias", "cpe-" br)
		emit(p "Standard", c == "1" ? "802.1Q-2011" : "802.1D-2004")
		np = split(PORTS[br], ports, " ")
		q = p "Port.{" br "}."
		ll = ""
		for (j = 1; j <= np; j++) ll = ll (j > 1 ? "," : "") p "Port.{" ports[j] "}"
		emit(q "Enable", bool(UP[br]))
		emit(q "Status", status(br))
		emit(q "Alias", "cpe-" br)
		emit(q "Name", br)
		emit(q "LowerLayers", ll)
		emit(q "ManagementPort", "true")
		lastchange(q, br, lcstate(br))
		stats(q, br)
		for (j = 1; j <= np; j++) {
			n = ports[j]
			q = p "Port.{" n "}."
			emit(q "Enable", bool(UP[n]))
			emit(q "Status", status(n))
			emit(q "Alias", "cpe-" n)
			emit(q "Name", n)
			emit(q "LowerLayers", is_eth(n) ? "Device.Ethernet.Interface.{" n "}" : KIND[n] == "wifi" ? "Device.WiFi.SSID.{" n "}" : "")
			emit(q "ManagementPort", "false")
			lastchange(q, n, lcstate(n))
			s = readfile("/sys/class/net/" n "/brport/state")
			if (s != "") emit(q "PortState", s + 0 == 0 ? "Disabled" : s + 0 == 1 ? "Listening" : s + 0 == 2 ? "Learning" : s + 0 == 3 ? "Forwarding" : "Blocking")
			for (k = 1; k <= NBV; k++)
				if (BVP[k] == n && BVPV[k] && c == "1") emit(q "PVID", BVID[k])
			stats(q, n)
		}
		emit(p "PortNumberOfEntries", np + 1)
		nv = nvp = 0
		if (c == "1") {
			delete vids
			for (k = 1; k <= NBV; k++) {
				n = BVP[k]
				if (MASTER[n] != br && n != br) continue
				if (!(BVID[k] in vids)) {
					vids[BVID[k]] = 1
					nv++
					q = p "VLAN.{" BVID[k] "}."
					emit(q "Enable", "true")
					emit(q "Alias", "cpe-" BVID[k])
					emit(q "VLANID", BVID[k])
				}
				if (n == br) continue
				nvp++
				q = p "VLANPort.{" BVID[k] ":" n "}."
				emit(q "Enable", "true")
				emit(q "Alias", "cpe-" BVID[k] "-" n)
				emit(q "VLAN", p "VLAN.{" BVID[k] "}")
				emit(q "Port", p "Port.{" n "}")
				emit(q "Untagged", bool(BVU[k]))
			}
		}
		emit(p "VLANNumberOfEntries", nv)
		emit(p "VLANPortNumberOfEntries", nvp)
	}
	emit("Device.Bridging.BridgeNumberOfEntries", nb)

	# Routing
	p = "Device.Routing.Router.1."
	emit("Device.Routing.RouterNumberOfEntries", 1)
	emit(p "Enable", "true")
	emit(p "Status", "Enabled")
	emit(p "Alias", "cpe-main")
	n4 = n6 = 0
	for (i = 1; i <= NR; i++) {
		if (!(RDEV[i] in IPIF)) continue
		key = RDST[i] " " RGW[i] " " RDEV[i] " " RMET[i]
		if (RF[i] == 4) {
			q = p "IPv4Forwarding.{" key "}."
			n4++
			dst = RDST[i]
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "Alias", "cpe-" n4)
			emit(q "StaticRoute", bool(RPRO[i] == "boot" || RPRO[i] == "static"))
			emit(q "DestIPAddress", dst == "0.0.0.0/0" ? "" : substr(dst, 1, index(dst, "/") - 1))
			emit(q "DestSubnetMask", dst == "0.0.0.0/0" ? "" : mask(substr(dst, index(dst, "/") + 1)))
			emit(q "ForwardingPolicy", -1)
			emit(q "GatewayIPAddress", RGW[i])
			emit(q "Interface", "Device.IP.Interface.{" RDEV[i] "}")
			if (RPRO[i] == "dhcp") emit(q "Origin", "DHCPv4")
			else if (RPRO[i] == "boot" || RPRO[i] == "static" || RPRO[i] == "kernel") emit(q "Origin", "Static")
			else if (RPRO[i] == "ospf") emit(q "Origin", "OSPF")
			else if (RPRO[i] == "rip") emit(q "Origin", "RIP")
			emit(q "ForwardingMetric", RMET[i])
		} else {
			q = p "IPv6Forwarding.{" key "}."
			n6++
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "Alias", "cpe-" n6)
			emit(q "DestIPPrefix", RDST[i])
			emit(q "ForwardingPolicy", -1)
			emit(q "NextHop", RGW[i])
			emit(q "Interface", "Device.IP.Interface.{" RDEV[i] "}")
			if (RPRO[i] == "ra") emit(q "Origin", "RA")
			else if (RPRO[i] == "dhcp") emit(q "Origin", "DHCPv6")
			else if (RPRO[i] == "boot" || RPRO[i] == "static" || RPRO[i] == "kernel") emit(q "Origin", "Static")
			else if (RPRO[i] == "ospf") emit(q "Origin", "OSPF")
			emit(q "ForwardingMetric", RMET[i])
			emit(q "ExpirationTime", REXP[i] != "" ? isotime(NOW + REXP[i]) : "9999-12-31T23:59:59Z")
		}
	}
	emit(p "IPv4ForwardingNumberOfEntries", n4)
	emit(p "IPv6ForwardingNumberOfEntries", n6)
	route_info()

	# NeighborDiscovery: the kernel's per-interface IPv6 settings
	c = readfile("/proc/sys/net/ipv6/conf/all/disable_ipv6")
	if (c != "") {
		emit("Device.NeighborDiscovery.Enable", bool(c == "0"))
		nd = 0
		for (i = 1; i <= NIF; i++) {
			n = IFN[i]
			if (!(n in IPIF) || LT[n] == "loopback") continue
			d = "/proc/sys/net/ipv6/conf/" n "/"
			v6on = readfile(d "disable_ipv6")
			if (v6on == "") continue
			q = "Device.NeighborDiscovery.InterfaceSetting.{" n "}."
			nd++
			emit(q "Enable", bool(v6on == "0"))
			emit(q "Status", v6on == "0" ? "Enabled" : "Disabled")
			emit(q "Alias", "cpe-" n)
			emit(q "Interface", "Device.IP.Interface.{" n "}")
			s = readfile("/proc/sys/net/ipv6/neigh/" n "/retrans_time_ms")
			if (s != "") emit(q "RetransTimer", s)
			s = readfile(d "router_solicitation_interval")
			if (s ~ /^[0-9]+$/) emit(q "RtrSolicitationInterval", s * 1000)
			s = readfile(d "router_solicitations")
			if (s ~ /^[0-9]+$/) emit(q "MaxRtrSolicitations", s)
			emit(q "NUDEnable", "true")
			up = readfile(d "accept_ra")
			k = readfile(d "forwarding")
			emit(q "RSEnable", bool(s != "0" && up != "0" && (k == "0" || up == "2")))
		}
		emit("Device.NeighborDiscovery.InterfaceSettingNumberOfEntries", nd)
	}
}

END {
	srand()
	NOW = srand()
	if (JN["A"] > 0) from_json()
	else from_proc()
	read_stats()
	if (rundir != "") lc_load(rundir "/lastchange", readfile("/proc/sys/kernel/random/boot_id"), NOW)
	render()
	lc_save()
}
