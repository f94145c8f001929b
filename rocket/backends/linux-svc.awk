# linux-svc.awk: DNS, DHCPv4, Hosts, NAT, Firewall -> TR-181 records (see linux-svc).
#
# Input sections: @DM a dnsmasq's argv (one per line; several @DM for
# several daemons), @CONFD files of /etc/dnsmasq.d, @NEIGH `ip neigh`,
# @ADDR `ip -o -4 addr`, @FDB `bridge fdb`, @DHCLIENT lease files
# ("networkd FILE" for systemd-networkd), @NFT `nft -j list ruleset`,
# @IPT `iptables-save`. Keys: pools by interface (or range), clients and
# hosts by MAC address, port mappings by rule (nft handle), DNS servers by
# address.

/^@/ {
	sec = substr($0, 2)
	jreset()
	if (sec == "DM") { NDM++; NARG = 0 }
	if (sec == "DHC") { NDP++; DHCPREV = "" }
	if (sec == "RD") NRDP++
	if (sec == "DHD") NDHD++
	next
}
sec == "DM" { if ($0 != "") DMARG[NDM, ++NARG] = $0; DMN[NDM] = NARG; next }
sec == "DHC" { dhc_arg(); next }
sec == "RD" { if ($0 != "") RDARG[++NRDARG] = $0; next }
sec == "DHD" { if ($0 != "" && NDHD == 1) DHDARG[++NDHDARG] = $0; next }
sec == "CONFD" { CONFD[++NCONFD] = $0; next }
sec == "NEIGH" { neigh(); next }
sec == "ADDR" { addr(); next }
sec == "FDB" { if ($3 == "dev" && $1 ~ /:/ && $0 !~ / self/ && $0 !~ /permanent/) FDB[tolower($1)] = $4; next }
sec == "DHCLIENT" { DHC[++NDHC] = $0; next }
sec == "NFT" { jfeed($0, "N"); fw_text(); next }
sec == "IPT" { IPT[++NIPT] = $0; if ($0 !~ /^#/) fw_text(); next }

function neigh(   ip, dev, mac, st, i) {
	ip = $1; dev = ""; mac = ""; st = $NF
	for (i = 2; i < NF; i++) {
		if ($i == "dev") dev = $(i + 1)
		if ($i == "lladdr") mac = tolower($(i + 1))
	}
	if (mac == "" || dev == "") return
	NN++
	NIP[NN] = ip; NDEV[NN] = dev; NMAC[NN] = mac; NST[NN] = st
}

function addr(   n, ip) {
	n = $2
	sub(/@.*/, "", n)
	sub(/:$/, "", n)
	if ($3 == "inet6" && $0 ~ / scope global/) {
		ip = v6prefix(substr($4, 1, index($4, "/") - 1), substr($4, index($4, "/") + 1))
		if (!index(A6IF[n] " ", " " ip " ")) A6IF[n] = A6IF[n] " " ip
		return
	}
	if ($3 != "inet") return
	NAD++
	ADIF[NAD] = n
	ip = $4
	ADIP[NAD] = ip
	sub(/\/.*/, "", ADIP[NAD])
	ADPL[NAD] = ip ~ /\// ? substr(ip, index(ip, "/") + 1) : 32
}

function ip2n(ip,   a) {
	if (split(ip, a, ".") != 4) return -1
	return ((a[1] * 256 + a[2]) * 256 + a[3]) * 256 + a[4]
}

# the interface whose IPv4 subnet holds ip ("" if none)
function ifof(ip,   i, n, size) {
	n = ip2n(ip)
	for (i = 1; i <= NAD; i++) {
		size = pow2(32 - ADPL[i])
		if (int(ip2n(ADIP[i]) / size) == int(n / size)) { IFIDX = i; return ADIF[i] }
	}
	IFIDX = 0
	return ""
}

function iphex(ip,   a, i, out) {
	split(ip, a, ".")
	out = ""
	for (i = 1; i <= 4; i++) out = out sprintf("%02x", a[i])
	return out
}

function strhex(s,   i, out) {
	out = ""
	for (i = 1; i <= length(s); i++) out = out sprintf("%02x", index(ASCII, substr(s, i, 1)) + 31)
	return out
}

# seconds from "1h", "30m", "45s", "3600", "infinite"
function seconds(t,   n) {
	if (t == "infinite") return -1
	n = t + 0
	if (t ~ /[mM]$/) n *= 60
	else if (t ~ /[hH]$/) n *= 3600
	else if (t ~ /[dD]$/) n *= 86400
	else if (t ~ /[wW]$/) n *= 604800
	return n
}

# ------------------------------------------------------------ dnsmasq
function dm_opt(line,   k, v) {
	sub(/^--/, "", line)
	sub(/^[ \t]+/, "", line)
	if (line == "" || line ~ /^#/) return
	k = line
	v = ""
	if (index(line, "=")) {
		k = substr(line, 1, index(line, "=") - 1)
		v = substr(line, index(line, "=") + 1)
	}
	sub(/[ \t]+$/, "", k)
	sub(/^[ \t]+/, "", v)
	sub(/[ \t]+$/, "", v)
	if (k == "conf-file" || k == "C") { dm_file(v); return }
	if (k == "conf-dir") return
	OPTS[++NOPT] = k
	OVAL[NOPT] = v
}

function dm_file(f,   l) {
	if (f in READ) return
	READ[f] = 1
	while ((getline l < f) > 0) dm_opt(l)
	close(f)
}

function dnsmasq(   i, a, arg, explicit, v, n, parts, j, k, tag, start, end, msk, lease, iface, key, np, lf, l, f,
		mac, ip, host, cid, pool, p, q, c, nc, nst, opt, dns, rtr, dom, port, nfw, rf, fw, ok) {
	if (!NDM) return
	explicit = 0
	for (i = 1; i <= DMN[1]; i++) {
		arg = DMARG[1, i]
		if (i == 1) continue
		if (arg ~ /^(-C|--conf-file)/) explicit = 1
		if (arg == "-C") { dm_file(DMARG[1, ++i]); continue }
		if (arg ~ /^-C./) { dm_file(substr(arg, 3)); continue }
		if (arg ~ /^--/) dm_opt(arg)
		else if (arg ~ /^-l/) dm_opt("dhcp-leasefile=" (arg == "-l" ? DMARG[1, ++i] : substr(arg, 3)))
		else if (arg ~ /^-F/) dm_opt("dhcp-range=" (arg == "-F" ? DMARG[1, ++i] : substr(arg, 3)))
		else if (arg ~ /^-i/) dm_opt("interface=" (arg == "-i" ? DMARG[1, ++i] : substr(arg, 3)))
		else if (arg ~ /^-p/) dm_opt("port=" (arg == "-p" ? DMARG[1, ++i] : substr(arg, 3)))
	}
	if (!explicit) {
		dm_file("/etc/dnsmasq.conf")
		for (i = 1; i <= NCONFD; i++) if (CONFD[i] !~ /(~|\.dpkg-[a-z]+|\.bak)$/) dm_file(CONFD[i])
	}
	lf = "/var/lib/misc/dnsmasq.leases"
	port = 53
	rf = "/etc/resolv.conf"
	nfw = 0
	dom = ""
	for (i = 1; i <= NOPT; i++) {
		k = OPTS[i]; v = OVAL[i]
		if (k == "dhcp-leasefile" || k == "dhcp-lease-file") lf = v
		else if (k == "port") port = v + 0
		else if (k == "interface") IFACE = v
		else if (k == "domain") { split(v, a, ","); dom = a[1] }
		else if (k == "no-resolv") rf = ""
		else if (k == "resolv-file") rf = v
		else if (k == "server" && v ~ /^[0-9a-fA-F:.]+(#[0-9]+)?$/) { sub(/#.*/, "", v); FW[++nfw] = v; FWT[nfw] = "Static" }
		else if (k == "dhcp-option" || k == "dhcp-option-force") {
			n = split(v, a, ",")
			j = 1
			while (j < n && a[j] ~ /^(tag|set|net|encap|vendor|vi-encap):|^[a-z]+$/ && a[j] !~ /^option:/) j++
			opt = a[j]
			sub(/^option:/, "", opt)
			v = ""
			for (c = j + 1; c <= n; c++) v = v (c > j + 1 ? "," : "") a[c]
			if (opt == "router" || opt == "3") rtr = v
			else if (opt == "dns-server" || opt == "6") dns = v
			else if (opt == "domain-name" || opt == "15") dom = v
		}
	}
	# DNS relay: dnsmasq forwards to server= lines, else to the resolv-file's servers
	if (rf != "") {
		while ((getline l < rf) > 0)
			if (split(l, a, /[ \t]+/) >= 2 && a[1] == "nameserver") { FW[++nfw] = a[2]; FWT[nfw] = "Static" }
		close(rf)
	}
	if (port != 0) {
		emit("Device.DNS.Relay.Enable", "true")
		emit("Device.DNS.Relay.Status", "Enabled")
		for (i = 1; i <= nfw; i++) {
			if (FW[i] in FWSEEN) continue
			FWSEEN[FW[i]] = 1
			q = "Device.DNS.Relay.Forwarding.{" FW[i] "}."
			fw++
			emit(q "Enable", "true")
			emit(q "Status", "Enabled")
			emit(q "Alias", "cpe-" FW[i])
			emit(q "DNSServer", FW[i])
			emit(q "Interface", "")
			emit(q "Type", FWT[i])
		}
		emit("Device.DNS.Relay.ForwardNumberOfEntries", fw + 0)
	}
	dhcp6(port)
	# DHCPv4 pools: one per dhcp-range
	np = 0
	for (i = 1; i <= NOPT; i++) {
		if (OPTS[i] != "dhcp-range") continue
		n = split(OVAL[i], parts, ",")
		j = 1
		tag = ""
		while (j <= n && parts[j] !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) {
			if (parts[j] ~ /^(set|tag):/) tag = substr(parts[j], index(parts[j], ":") + 1)
			else if (parts[j] !~ /:/) tag = parts[j]
			j++
		}
		if (j > n) continue  # IPv6 range or not understood
		start = parts[j]; end = parts[j + 1]; msk = ""; lease = "1h"
		if (end !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) { end = start }
		for (k = j + 2; k <= n; k++) {
			if (parts[k] ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) msk = parts[k]
			else if (parts[k] ~ /^([0-9]+[smhdwSMHDW]?|infinite)$/) lease = parts[k]
		}
		iface = ifof(start)
		if (msk == "" && IFIDX) msk = mask(ADPL[IFIDX])
		key = iface != "" ? iface : tag != "" ? tag : start
		np++
		POOLKEY[np] = key; POOLIF[np] = iface; POOLLO[np] = ip2n(start); POOLHI[np] = ip2n(end)
		p = "Device.DHCPv4.Server.Pool.{" key "}."
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Alias", "cpe-" key)
		emit(p "Order", np)
		emit(p "Interface", iface != "" ? "Device.IP.Interface.{" iface "}" : "")
		emit(p "MinAddress", start)
		emit(p "MaxAddress", end)
		if (msk != "") emit(p "SubnetMask", msk)
		# dnsmasq's defaults: its own address is the router and the DNS server
		emit(p "DNSServers", dns != "" ? dns : (IFIDX && port != 0 ? ADIP[IFIDX] : ""))
		emit(p "IPRouters", rtr != "" ? rtr : IFIDX ? ADIP[IFIDX] : "")
		emit(p "DomainName", dom)
		emit(p "LeaseTime", seconds(lease))
		emit(p "ReservedAddresses", "")
		nst = 0
		for (k = 1; k <= NOPT; k++) {
			if (OPTS[k] != "dhcp-host") continue
			c = split(OVAL[k], a, ",")
			mac = ""; ip = ""
			for (j = 1; j <= c; j++) {
				if (a[j] ~ /^([0-9a-fA-F][0-9a-fA-F]:)+[0-9a-fA-F][0-9a-fA-F]$/) mac = tolower(a[j])
				else if (a[j] ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) ip = a[j]
			}
			if (mac == "" || ip == "" || ifof(ip) != iface) continue
			nst++
			q = p "StaticAddress.{" mac "}."
			emit(q "Enable", "true")
			emit(q "Alias", "cpe-" mac)
			emit(q "Chaddr", mac)
			emit(q "Yiaddr", ip)
		}
		emit(p "StaticAddressNumberOfEntries", nst)
		k = 0
		if (rtr != "" || IFIDX) {
			k++
			q = p "Option.{3}."
			emit(q "Enable", "true")
			emit(q "Alias", "cpe-option3")
			emit(q "Tag", 3)
			emit(q "Value", iplisthex(rtr != "" ? rtr : ADIP[IFIDX]))
		}
		if (dns != "" || (IFIDX && port != 0)) {
			k++
			q = p "Option.{6}."
			emit(q "Enable", "true")
			emit(q "Alias", "cpe-option6")
			emit(q "Tag", 6)
			emit(q "Value", iplisthex(dns != "" ? dns : ADIP[IFIDX]))
		}
		emit(p "OptionNumberOfEntries", k)
	}
	NPOOL = np
	# the lease file: "EXPIRY MAC IP HOSTNAME CLIENTID", then after a "duid"
	# line the DHCPv6 ones: "EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID"
	v6 = 0
	while ((getline l < lf) > 0) {
		if (l ~ /^duid /) { v6 = 1; continue }
		if (split(l, a, " ") < 4) continue
		if (v6) {
			if (a[3] !~ /:/) continue
			NL6++
			L6EXP[NL6] = a[1] + 0; L6IP[NL6] = a[3]; L6DUID[NL6] = tolower(a[5])
			continue
		}
		mac = tolower(a[2])
		if (mac !~ /^[0-9a-f][0-9a-f](:[0-9a-f][0-9a-f])+$/ || length(mac) != 17) continue
		LEASES++
		LMAC[LEASES] = mac; LIP[LEASES] = a[3]; LHOST[LEASES] = a[4] == "*" ? "" : a[4]
		LEXP[LEASES] = a[1] + 0; LCID[LEASES] = a[5] == "*" ? "" : a[5]
		LEASE_OF[mac] = LEASES
	}
	close(lf)
	pool_clients(1, np, 1)
	dhcp6_clients()
}

# the clients of pools from..to: the leases lfrom.. in their subnet or range
function pool_clients(from, to, lfrom,   i, j, p, q, nc, c, k, v) {
	for (j = from; j <= to; j++) {
		p = "Device.DHCPv4.Server.Pool.{" POOLKEY[j] "}."
		nc = 0
		for (i = lfrom; i <= LEASES; i++) {
			c = ip2n(LIP[i])
			if (POOLIF[j] != "" ? ifof(LIP[i]) != POOLIF[j] : (c < POOLLO[j] || c > POOLHI[j])) continue
			nc++
			LPOOL[i] = POOLKEY[j]
			q = p "Client.{" LMAC[i] "}."
			emit(q "Alias", "cpe-" LMAC[i])
			emit(q "Chaddr", LMAC[i])
			emit(q "Active", bool(LEXP[i] == 0 || LEXP[i] > now))
			emit(q "IPv4Address.{" LIP[i] "}.IPAddress", LIP[i])
			emit(q "IPv4Address.{" LIP[i] "}.LeaseTimeRemaining", LEXP[i] == 0 ? "9999-12-31T23:59:59Z" : isotime(LEXP[i]))
			emit(q "IPv4AddressNumberOfEntries", 1)
			k = 0
			if (LHOST[i] != "") {
				k++
				emit(q "Option.{12}.Tag", 12)
				emit(q "Option.{12}.Value", strhex(LHOST[i]))
			}
			if (LCID[i] ~ /^([0-9a-fA-F][0-9a-fA-F]:)*[0-9a-fA-F][0-9a-fA-F]$/) {
				k++
				v = LCID[i]
				gsub(/:/, "", v)
				emit(q "Option.{61}.Tag", 61)
				emit(q "Option.{61}.Value", tolower(v))
			}
			emit(q "OptionNumberOfEntries", k)
		}
		emit(p "ClientNumberOfEntries", nc)
	}
}

# ISC dhcpd (IPv4; a `-6` instance is not read): its configuration (-cf,
# else /etc/dhcp/dhcpd.conf) and leases (-lf, else
# /var/lib/dhcp/dhcpd.leases). One pool per subnet with a range (its
# first range); what the file does not set, dhcpd does not send, except
# the lease time (dhcpd's default: 43200 s)
function dhcpd(   i, cf, lf, l, a, n, j, T, nt, w, nw, d, blk, sn, hm, hip, k, v, first, lfirst, p, q, iface, key,
		nst, ip, mac, st, ends, hn, nip, order, bits) {
	cf = "/etc/dhcp/dhcpd.conf"
	lf = "/var/lib/dhcp/dhcpd.leases"
	for (i = 2; i <= NDHDARG; i++) {
		if (DHDARG[i] == "-6") return
		if (DHDARG[i] == "-cf") cf = DHDARG[++i]
		else if (DHDARG[i] == "-lf") lf = DHDARG[++i]
	}
	nt = 0
	while ((getline l < cf) > 0) {
		sub(/#.*/, "", l)
		gsub(/[{};,]/, " & ", l)
		n = split(l, a, /[ \t]+/)
		for (j = 1; j <= n; j++) if (a[j] != "" && a[j] != ",") T[++nt] = a[j]
	}
	close(cf)
	d = nw = sn = 0
	for (i = 1; i <= nt; i++) {
		if (T[i] == "{") {
			blk[++d] = w[1]
			if (w[1] == "subnet" && nw >= 4) { sn = ++NSUB; SNET[sn] = w[2]; SMASK[sn] = w[4] }
			if (w[1] == "host") hm = hip = ""
			nw = 0
		} else if (T[i] == "}") {
			if (blk[d] == "host" && hm != "" && hip ~ /^[0-9.]+$/) { NDH++; DHMAC[NDH] = hm; DHIP[NDH] = hip }
			if (blk[d] == "subnet") sn = 0
			d--
			nw = 0
		} else if (T[i] == ";") {
			if (w[1] == "hardware" && w[2] == "ethernet") hm = tolower(w[3])
			else if (w[1] == "fixed-address") hip = w[2]
			else if (blk[d] == "host") ;
			else if (w[1] == "range" && sn && !(sn in SLO)) {
				k = w[2] == "dynamic-bootp" ? 3 : 2
				SLO[sn] = w[k]
				SHI[sn] = nw > k ? w[k + 1] : w[k]
			} else if (w[1] == "default-lease-time") DV[sn, "lease"] = w[2]
			else if (w[1] == "option" && (w[2] == "routers" || w[2] == "domain-name-servers")) {
				v = ""
				for (j = 3; j <= nw; j++) v = v (j > 3 ? "," : "") w[j]
				if (v ~ /^[0-9.,]+$/) DV[sn, w[2]] = v
			} else if (w[1] == "option" && w[2] == "domain-name") { v = w[3]; gsub(/"/, "", v); DV[sn, "dom"] = v }
			nw = 0
		} else w[++nw] = T[i]
	}
	first = NPOOL + 1
	for (sn = 1; sn <= NSUB; sn++) {
		if (!(sn in SLO)) continue
		iface = ifof(SLO[sn])
		key = iface != "" ? iface : SNET[sn]
		for (j = 1; j <= NPOOL; j++) if (POOLKEY[j] == key) key = ""
		if (key == "") continue  # dnsmasq serves it too: its pool stands
		NPOOL++
		POOLKEY[NPOOL] = key; POOLIF[NPOOL] = iface; POOLLO[NPOOL] = ip2n(SLO[sn]); POOLHI[NPOOL] = ip2n(SHI[sn])
		p = "Device.DHCPv4.Server.Pool.{" key "}."
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Alias", "cpe-" key)
		emit(p "Order", NPOOL)
		emit(p "Interface", iface != "" ? "Device.IP.Interface.{" iface "}" : "")
		emit(p "MinAddress", SLO[sn])
		emit(p "MaxAddress", SHI[sn])
		emit(p "SubnetMask", SMASK[sn])
		emit(p "DNSServers", dv(sn, "domain-name-servers"))
		emit(p "IPRouters", dv(sn, "routers"))
		emit(p "DomainName", dv(sn, "dom"))
		emit(p "LeaseTime", dv(sn, "lease") != "" ? dv(sn, "lease") : 43200)
		emit(p "ReservedAddresses", "")
		nst = 0
		bits = pow2(32 - masklen(SMASK[sn]))
		for (j = 1; j <= NDH; j++) {
			if (int(ip2n(DHIP[j]) / bits) != int(ip2n(SNET[sn]) / bits)) continue
			nst++
			q = p "StaticAddress.{" DHMAC[j] "}."
			emit(q "Enable", "true")
			emit(q "Alias", "cpe-" DHMAC[j])
			emit(q "Chaddr", DHMAC[j])
			emit(q "Yiaddr", DHIP[j])
		}
		emit(p "StaticAddressNumberOfEntries", nst)
		k = 0
		if (dv(sn, "routers") != "") k += pool_opt(p, 3, dv(sn, "routers"))
		if (dv(sn, "domain-name-servers") != "") k += pool_opt(p, 6, dv(sn, "domain-name-servers"))
		emit(p "OptionNumberOfEntries", k)
	}
	# leases: the last entry of an address wins; active ones count
	nip = 0
	while ((getline l < lf) > 0) {
		if (l ~ /^lease [0-9.]+ \{/) {
			split(l, a, " ")
			ip = a[2]; st = mac = hn = ends = ""
		} else if (l ~ /^[ \t]+ends /) {
			ends = l
			sub(/^[ \t]+ends /, "", ends)
			sub(/;.*/, "", ends)
			ends = ends == "never" ? 0 : epoch(ends)
		} else if (l ~ /^[ \t]+binding state /) { split(l, a, /[ \t;]+/); st = a[4] }
		else if (l ~ /^[ \t]+hardware ethernet /) { split(l, a, /[ \t;]+/); mac = tolower(a[4]) }
		else if (l ~ /^[ \t]+client-hostname /) { hn = l; sub(/^[^"]*"/, "", hn); sub(/".*/, "", hn) }
		else if (l ~ /^\}/ && ip != "") {
			if (!(ip in DLST)) order[++nip] = ip
			DLST[ip] = st; DLMAC[ip] = mac; DLEXP[ip] = ends; DLHN[ip] = hn
			ip = ""
		}
	}
	close(lf)
	lfirst = LEASES + 1
	for (i = 1; i <= nip; i++) {
		ip = order[i]
		if (DLST[ip] != "active" || DLMAC[ip] !~ /^[0-9a-f][0-9a-f](:[0-9a-f][0-9a-f])+$/ || length(DLMAC[ip]) != 17)
			continue
		LEASES++
		LMAC[LEASES] = DLMAC[ip]; LIP[LEASES] = ip; LHOST[LEASES] = DLHN[ip]; LEXP[LEASES] = DLEXP[ip]
		LCID[LEASES] = ""
		LEASE_OF[DLMAC[ip]] = LEASES
	}
	pool_clients(first, NPOOL, lfirst)
}

function dv(sn, k) { return ((sn, k) in DV) ? DV[sn, k] : ((0, k) in DV) ? DV[0, k] : "" }

function pool_opt(p, tag, v,   q) {
	q = p "Option.{" tag "}."
	emit(q "Enable", "true")
	emit(q "Alias", "cpe-option" tag)
	emit(q "Tag", tag)
	emit(q "Value", iplisthex(v))
	return 1
}

# IPv6 ranges of dnsmasq: DHCPv6 pools and router advertisements
function dhcp6(port,   i, n, parts, j, k, iface, start, len, mode, pfx, np6, p, q, ra, m, o, pri, ivl, life, mtu,
		a, c, refs, nra, key) {
	ra = 0
	for (i = 1; i <= NOPT; i++) if (OPTS[i] == "enable-ra") ra = 1
	for (i = 1; i <= NOPT; i++) {
		if (OPTS[i] != "ra-param") continue
		c = split(OVAL[i], a, ",")
		k = a[1]
		RAPRI[k] = "Medium"
		j = 2
		if (a[j] ~ /^mtu:/) { if (a[j] ~ /^mtu:[0-9]+$/) RAMTU[k] = substr(a[j], 5); j++ }
		if (a[j] == "high" || a[j] == "low") { RAPRI[k] = a[j] == "high" ? "High" : "Low"; j++ }
		if (a[j] ~ /^[0-9]+$/ && a[j] + 0 > 0) RAIVL[k] = a[j]
		if (a[j + 1] ~ /^[0-9]+$/) RALIFE[k] = a[j + 1]
	}
	np6 = 0
	nra = 0
	dm_opt6()
	for (i = 1; i <= NOPT; i++) {
		if (OPTS[i] != "dhcp-range") continue
		n = split(OVAL[i], parts, ",")
		start = ""; iface = ""; len = 64; mode = " "
		for (j = 1; j <= n; j++) {
			if (parts[j] ~ /^constructor:/) iface = substr(parts[j], 13)
			else if (parts[j] ~ /^(tag|set):/) continue
			else if (parts[j] ~ /^(ra-only|slaac|ra-names|ra-stateless|ra-advrouter|off-link|static)$/) mode = mode parts[j] " "
			else if (parts[j] ~ /:/ && start == "") start = parts[j]
			else if (parts[j] ~ /^[0-9]+$/ && parts[j] + 0 <= 128 && start != "") len = parts[j]
		}
		if (start == "") continue  # IPv4
		if (iface == "") {
			pfx = v6prefix(start, len)
			for (k in A6IF) if (index(A6IF[k] " ", " " pfx " ")) iface = k
			refs = "Device.IP.Interface.{" iface "}.IPv6Prefix.{" pfx "}"
		} else {
			refs = ""
			c = split(substr(A6IF[iface], 2), a, " ")
			for (k = 1; k <= c; k++) refs = refs (k > 1 ? "," : "") "Device.IP.Interface.{" iface "}.IPv6Prefix.{" a[k] "}"
		}
		if (iface == "" || (iface in DONE6)) continue
		DONE6[iface] = 1
		m = !index(mode, " ra-only ") && !index(mode, " ra-stateless ") && !index(mode, " static ") && start != "::"
		o = !index(mode, " ra-only ")
		if (!index(mode, " ra-only ")) {
			np6++
			p = "Device.DHCPv6.Server.Pool.{" iface "}."
			POOL6[iface] = p
			emit(p "Enable", "true")
			emit(p "Status", "Enabled")
			emit(p "Alias", "cpe-" iface)
			emit(p "Order", np6)
			emit(p "Interface", "Device.IP.Interface.{" iface "}")
			emit(p "IANAEnable", bool(m))
			emit(p "IANAPrefixes", m ? refs : "")
			emit(p "IAPDEnable", "false")  # dnsmasq does not delegate prefixes
			k = 0
			for (c in D6OPT) {
				k++
				q = p "Option.{" c "}."
				emit(q "Enable", "true")
				emit(q "Alias", "cpe-option" c)
				emit(q "Tag", c)
				emit(q "Value", D6OPT[c])
			}
			emit(p "OptionNumberOfEntries", k)
		}
		if (!ra && !index(mode, " ra-only ") && !index(mode, " slaac ") && !index(mode, " ra-stateless ") && !index(mode, " ra-names ")) continue
		nra++
		q = "Device.RouterAdvertisement.InterfaceSetting.{" iface "}."
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "Alias", "cpe-" iface)
		emit(q "Interface", "Device.IP.Interface.{" iface "}")
		emit(q "ManualPrefixes", "")
		emit(q "Prefixes", refs)
		# dnsmasq: M set for address ranges, O unless ra-only; never H or Proxy
		emit(q "AdvManagedFlag", bool(m))
		emit(q "AdvOtherConfigFlag", bool(o))
		emit(q "AdvMobileAgentFlag", "false")
		emit(q "AdvNDProxyFlag", "false")
		key = (iface in RAPRI) ? iface : "*"
		emit(q "AdvPreferredRouterFlag", (key in RAPRI) ? RAPRI[key] : "Medium")
		if (key in RAIVL && RAIVL[key] >= 4 && RAIVL[key] <= 1800) emit(q "MaxRtrAdvInterval", RAIVL[key])
		if (key in RALIFE && RALIFE[key] <= 65535) emit(q "AdvDefaultLifetime", RALIFE[key])
		if (key in RAMTU) emit(q "AdvLinkMTU", RAMTU[key])
		emit(q "OptionNumberOfEntries", 0)
		RADONE[iface] = 1
	}
	emit("Device.DHCPv6.Server.Enable", bool(np6))
	emit("Device.DHCPv6.Server.PoolNumberOfEntries", np6)
	NRA = nra
}

# DNS names on the wire (RFC 1035 labels): DHCPv6 option 24, RA DNSSL
function dnsnames(list,   a, n, i, l, c, j, out) {
	n = split(list, a, /[ ,]+/)
	out = ""
	for (i = 1; i <= n; i++) {
		sub(/\.$/, "", a[i])
		if (a[i] == "") continue
		c = split(a[i], l, ".")
		for (j = 1; j <= c; j++) out = out sprintf("%02x", length(l[j])) strhex(l[j])
		out = out "00"
	}
	return out
}

# dnsmasq's untagged DHCPv6 options 23 (dns-server) and 24 (domain-search)
# into D6OPT[tag] = hex; "[::]" (dnsmasq's own address, which one it does
# not say) leaves the option out
function dm_opt6(   i, n, a, t, j, hx, ok) {
	for (i = 1; i <= NOPT; i++) {
		if ((OPTS[i] != "dhcp-option" && OPTS[i] != "dhcp-option-force") || OVAL[i] !~ /^option6:/) continue
		n = split(substr(OVAL[i], 9), a, ",")
		t = a[1] == "dns-server" ? 23 : a[1] == "domain-search" ? 24 : a[1] ~ /^2[34]$/ ? a[1] + 0 : 0
		if (!t || (t in D6OPT)) continue
		hx = ""
		ok = n > 1
		for (j = 2; j <= n; j++) {
			if (t == 24) hx = hx dnsnames(a[j])
			else if (a[j] ~ /^\[[0-9a-fA-F:]+\]$/ && a[j] != "[::]") hx = hx v6hex(substr(a[j], 2, length(a[j]) - 2))
			else ok = 0
		}
		if (ok) D6OPT[t] = hx
	}
}

# radvd: the configuration of each running radvd (-C FILE, --config=FILE,
# else /etc/radvd.conf); interfaces with AdvSendAdvert on, values absent
# from the file take radvd.conf(5)'s defaults
function radvd(   i, f, l, a, n, j, nt, T, d, w, nw, ifn, blk, first, pre) {
	f = "/etc/radvd.conf"
	for (i = 1; i <= NRDARG; i++) {
		if (RDARG[i] == "-C" || RDARG[i] == "--config") f = RDARG[i + 1]
		else if (RDARG[i] ~ /^--config=/) f = substr(RDARG[i], 10)
		else if (RDARG[i] ~ /^-C./) f = substr(RDARG[i], 3)
	}
	nt = 0
	while ((getline l < f) > 0) {
		sub(/#.*/, "", l)
		gsub(/[{};]/, " & ", l)
		n = split(l, a, /[ \t]+/)
		for (j = 1; j <= n; j++) if (a[j] != "") T[++nt] = a[j]
	}
	close(f)
	d = nw = 0
	for (i = 1; i <= nt; i++) {
		if (T[i] == "{") {
			d++
			if (d == 1 && w[1] == "interface") { ifn = w[2]; RDN++; RDIF[RDN] = ifn }
			blk = d == 2 ? w[1] : blk
			if (d == 2 && w[1] == "prefix") RDPFX[ifn] = RDPFX[ifn] " " w[2]
			first = d == 2 && (w[1] == "RDNSS" || w[1] == "DNSSL" || w[1] == "route") && !((ifn, w[1]) in RDOPT)
			if (first) {
				RDOPT[ifn, w[1]] = ""
				for (j = 2; j <= nw; j++) RDOPT[ifn, w[1]] = RDOPT[ifn, w[1]] " " w[j]
			}
			nw = 0
		} else if (T[i] == "}") { d--; nw = 0 }
		else if (T[i] == ";") {
			if (d == 1 && nw >= 2) RDV[ifn, w[1]] = w[2]
			if (d == 2 && first && w[1] ~ /^Adv(RDNSS|DNSSL|Route)Lifetime$/) RDLT[ifn, blk] = w[2]
			if (d == 2 && first && w[1] == "AdvRoutePreference") RDPRF[ifn] = w[2]
			nw = 0
		} else w[++nw] = T[i]
	}
	for (i = 1; i <= RDN; i++) {
		ifn = RDIF[i]
		if (RDV[ifn, "AdvSendAdvert"] != "on" || (ifn in RADONE)) continue
		RADONE[ifn] = 1
		NRA++
		pre = "Device.RouterAdvertisement.InterfaceSetting.{" ifn "}."
		emit(pre "Enable", "true")
		emit(pre "Status", "Enabled")
		emit(pre "Alias", "cpe-" ifn)
		emit(pre "Interface", "Device.IP.Interface.{" ifn "}")
		l = ""
		n = split(RDPFX[ifn], a, " ")
		for (j = 1; j <= n; j++)
			if (a[j] == "::/64" || index(A6IF[ifn] " ", " " a[j] " ")) l = l " " (a[j] == "::/64" ? substr(A6IF[ifn], 2) : a[j])
		n = split(l, a, " ")
		l = ""
		for (j = 1; j <= n; j++) l = l (j > 1 ? "," : "") "Device.IP.Interface.{" ifn "}.IPv6Prefix.{" a[j] "}"
		emit(pre "ManualPrefixes", l)
		emit(pre "Prefixes", l)
		rd_num(pre, "MaxRtrAdvInterval", rdv(ifn, "MaxRtrAdvInterval", 600))
		rd_num(pre, "MinRtrAdvInterval", rdv(ifn, "MinRtrAdvInterval", 0.33 * MAXI))
		rd_num(pre, "AdvDefaultLifetime", rdv(ifn, "AdvDefaultLifetime", MAXI * 3 < 1 ? 1 : MAXI * 3))
		emit(pre "AdvManagedFlag", bool(rdv(ifn, "AdvManagedFlag", "off") == "on"))
		emit(pre "AdvOtherConfigFlag", bool(rdv(ifn, "AdvOtherConfigFlag", "off") == "on"))
		emit(pre "AdvMobileAgentFlag", bool(rdv(ifn, "AdvHomeAgentFlag", "off") == "on"))
		emit(pre "AdvNDProxyFlag", "false")  # radvd has no setting for it
		l = rdv(ifn, "AdvDefaultPreference", "medium")
		emit(pre "AdvPreferredRouterFlag", l == "high" ? "High" : l == "low" ? "Low" : "Medium")
		rd_num(pre, "AdvLinkMTU", rdv(ifn, "AdvLinkMTU", 0))
		rd_num(pre, "AdvReachableTime", rdv(ifn, "AdvReachableTime", 0))
		rd_num(pre, "AdvRetransTimer", rdv(ifn, "AdvRetransTimer", 0))
		rd_num(pre, "AdvCurHopLimit", rdv(ifn, "AdvCurHopLimit", 64))
		n = 0
		if ((ifn, "RDNSS") in RDOPT) n += rd_opt(pre, 25, ifn, "RDNSS")
		if ((ifn, "DNSSL") in RDOPT) n += rd_opt(pre, 31, ifn, "DNSSL")
		if ((ifn, "route") in RDOPT) n += rd_opt(pre, 24, ifn, "route")
		emit(pre "OptionNumberOfEntries", n)
	}
}

function rdv(ifn, k, dflt,   v) {
	v = ((ifn, k) in RDV) ? RDV[ifn, k] : dflt
	if (k == "MaxRtrAdvInterval") MAXI = v + 0
	return v
}

# whole numbers only (radvd accepts decimal intervals; TR-181 does not)
function rd_num(pre, k, v) {
	if (v ~ /^[0-9]+$/ || (v + 0 == int(v + 0) && v + 0 >= 0)) emit(pre k, int(v + 0))
}

# RDNSS (25), DNSSL (31) or route information (24), the first block of
# each: the option's data after type and length (RFC 8106, RFC 4191):
# reserved, lifetime, addresses or names padded to 8 octets; prefix
# length, preference, lifetime, the 16 octets of the prefix. Lifetime
# defaults: MaxRtrAdvInterval (radvd's code and what it sends; its manual
# says twice that), 3 x for routes
function rd_opt(pre, tag, ifn, kind,   lt, hx, n, a, j, q) {
	lt = ((ifn, kind) in RDLT) ? RDLT[ifn, kind] : tag == 24 ? 3 * MAXI : MAXI
	if (lt == "infinity") lt = 4294967295
	if (lt !~ /^[0-9.]+$/ || lt + 0 != int(lt + 0)) return 0
	hx = sprintf("0000%08x", lt + 0)
	if (tag == 24) {
		split(RDOPT[ifn, kind], a, /[ \/]+/)
		if (a[3] !~ /^[0-9]+$/ || a[2] !~ /:/) return 0
		hx = sprintf("%02x%02x%08x", a[3], RDPRF[ifn] == "high" ? 8 : RDPRF[ifn] == "low" ? 24 : 0, lt) v6hex(a[2])
	} else if (tag == 25) {
		n = split(RDOPT[ifn, kind], a, " ")
		for (j = 1; j <= n; j++) hx = hx v6hex(a[j])
	} else {
		hx = hx dnsnames(RDOPT[ifn, kind])
		while ((length(hx) / 2 + 2) % 8) hx = hx "00"
	}
	q = pre "Option.{" tag "}."
	emit(q "Enable", "true")
	emit(q "Alias", "cpe-option" tag)
	emit(q "Tag", tag)
	emit(q "Value", hx)
	return 1
}

function dhcp6_clients(   iface, p, i, k, q, n, a, c) {
	for (iface in POOL6) {
		p = POOL6[iface]
		n = 0
		delete SEEN6
		for (i = 1; i <= NL6; i++) {
			c = split(substr(A6IF[iface], 2), a, " ")
			for (k = 1; k <= c; k++)
				if (v6prefix(L6IP[i], substr(a[k], index(a[k], "/") + 1)) == a[k]) break
			if (k > c) continue
			q = p "Client.{" L6DUID[i] "}."
			if (!(L6DUID[i] in SEEN6)) {
				SEEN6[L6DUID[i]] = 0
				n++
				emit(q "Alias", "cpe-client" n)
				emit(q "Active", bool(L6EXP[i] == 0 || L6EXP[i] > now))
			}
			SEEN6[L6DUID[i]]++
			emit(q "IPv6Address.{" L6IP[i] "}.IPAddress", L6IP[i])
			emit(q "IPv6Address.{" L6IP[i] "}.ValidLifetime", L6EXP[i] == 0 ? "9999-12-31T23:59:59Z" : isotime(L6EXP[i]))
		}
		for (k in SEEN6) emit(p "Client.{" k "}.IPv6AddressNumberOfEntries", SEEN6[k])
		emit(p "ClientNumberOfEntries", n)
	}
}

function iplisthex(list,   a, n, i, out) {
	n = split(list, a, ",")
	out = ""
	for (i = 1; i <= n; i++) if (a[i] ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) out = out iphex(a[i])
	return out
}

# ------------------------------------------------------------ DNS client
function dns_client(   f, l, a, n, seen) {
	f = "/etc/resolv.conf"
	n = 0
	while ((getline l < f) > 0) {
		if (split(l, a, /[ \t]+/) < 2 || a[1] != "nameserver" || (a[2] in seen)) continue
		seen[a[2]] = 1
		n++
		p = "Device.DNS.Client.Server.{" a[2] "}."
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Alias", "cpe-" a[2])
		emit(p "DNSServer", a[2])
		emit(p "Interface", "")
		emit(p "Type", "Static")
	}
	close(f)
	emit("Device.DNS.Client.Enable", "true")
	emit("Device.DNS.Client.Status", "Enabled")
	emit("Device.DNS.Client.ServerNumberOfEntries", n)
	emit("Device.DNS.SupportedRecordTypes", "A,AAAA,SRV,PTR")
}

# ------------------------------------------------------------ DHCPv4 client
# a running dhclient's arguments: -lf LEASES, -cf CONFIG, -6 (not ours)
function dhc_arg() {
	if (DHCPREV == "-lf") DPLF[NDP] = $0
	else if (DHCPREV == "-cf") DPCF[NDP] = $0
	else if ($0 == "-6") DP6[NDP] = 1
	DHCPREV = $0
}

# the running dhclients: IPv4 lease files join the list, IPv6 ones their own
function dhc_procs(   i) {
	for (i = 1; i <= NDP; i++) {
		if (DPLF[i] == "") continue
		if (DP6[i]) { DHC6[++NDHC6] = DPLF[i]; DHC6CF = DPCF[i]; continue }
		DHC[++NDHC] = DPLF[i]
		DHCLF = 1
		if (DPCF[i] != "") DHCCF = DPCF[i]
	}
}

# an IPv6 address as 32 hex digits
function v6hex(ip,   g, n, i, left, right, nl, nr, out, k) {
	n = split(ip, g, "::")
	nl = split(g[1], left, ":")
	if (g[1] == "") nl = 0
	nr = 0
	if (n == 2) { nr = split(g[2], right, ":"); if (g[2] == "") nr = 0 }
	out = ""
	for (i = 1; i <= nl; i++) out = out sprintf("%04x", hex(left[i]))
	for (i = 1; i <= 8 - nl - nr; i++) out = out "0000"
	for (i = 1; i <= nr; i++) out = out sprintf("%04x", hex(right[i]))
	return out
}

# dhclient's "0:1:0:1:2b:3c:..." (or a quoted string) -> hex
function duidhex(v,   a, n, i, out) {
	gsub(/"/, "", v)
	n = split(v, a, ":")
	out = ""
	for (i = 1; i <= n; i++) out = out sprintf("%02x", hex(a[i]))
	return out
}

# dhclient -6 lease files: the newest lease6 per interface
function dhclient6(   i, f, l, depth, k, v, ifn, n, p, q, a, c, j, tags, t, req) {
	split("dhcp6.name-servers 23 dhcp6.domain-search 24 dhcp6.sntp-servers 31 dhcp6.fqdn 39", t, " ")
	for (j = 1; j in t; j += 2) TAG6[t[j]] = t[j + 1]
	for (i = 1; i <= NDHC6; i++) {
		f = DHC6[i]
		depth = 0
		while ((getline l < f) > 0) {
			sub(/^[ \t]+/, "", l)
			sub(/;[ \t]*$/, "", l)
			if (depth == 0 && l ~ /^lease6 *\{/) { depth = 1; delete C6; continue }
			if (!depth) continue
			if (l ~ /\{$/) {
				depth++
				if (l ~ /^ia-na /) C6["ia-na"] = 1
				if (l ~ /^ia-pd /) C6["ia-pd"] = 1
				if (l ~ /^iaaddr /) { split(l, a, " "); C6["addr"] = C6["addr"] " " a[2] }
				continue
			}
			if (l ~ /^\}/) {
				if (--depth == 0 && C6["interface"] != "") {
					ifn = C6["interface"]
					L6IF[ifn] = 1
					for (k in C6) D6[ifn, k] = C6[k]
				}
				continue
			}
			if (depth == 1 && l ~ /^interface /) { v = l; sub(/^interface /, "", v); gsub(/"/, "", v); C6["interface"] = v }
			if (depth == 1 && l ~ /^option /) {
				sub(/^option /, "", l)
				k = l
				sub(/[ \t].*/, "", k)
				C6[k] = substr(l, length(k) + 2)
			}
		}
		close(f)
	}
	req = ""
	f = DHC6CF != "" ? DHC6CF : "/etc/dhcp/dhclient.conf"
	while ((getline l < f) > 0) {
		sub(/#.*/, "", l)
		n = split(l, a, /[ \t,;]+/)
		for (j = 1; j <= n; j++) if (a[j] in TAG6 && index("," req ",", "," TAG6[a[j]] ",") == 0) req = req (req == "" ? "" : ",") TAG6[a[j]]
	}
	close(f)
	n = 0
	for (ifn in L6IF) {
		p = "Device.DHCPv6.Client.{" ifn "}."
		n++
		emit(p "Enable", "true")
		emit(p "Alias", "cpe-" ifn)
		emit(p "Interface", "Device.IP.Interface.{" ifn "}")
		emit(p "Status", "Enabled")
		if (D6[ifn, "dhcp6.client-id"] != "") emit(p "DUID", duidhex(D6[ifn, "dhcp6.client-id"]))
		emit(p "RequestAddresses", bool(D6[ifn, "ia-na"]))
		emit(p "RequestPrefixes", bool(D6[ifn, "ia-pd"]))
		emit(p "Renew", "false")
		if (NDHC6 && req != "") emit(p "RequestedOptions", req)
		c = 0
		if (D6[ifn, "dhcp6.server-id"] != "") {
			c = 1
			q = p "Server.{" D6[ifn, "dhcp6.server-id"] "}."
			emit(q "DUID", duidhex(D6[ifn, "dhcp6.server-id"]))
		}
		emit(p "ServerNumberOfEntries", c)
		c = 0
		for (k in TAG6) {
			v = D6[ifn, k]
			if (v == "" || k == "dhcp6.fqdn") continue
			c++
			q = p "ReceivedOption.{" TAG6[k] "}."
			emit(q "Tag", TAG6[k])
			if (TAG6[k] == 23 || TAG6[k] == 31) {
				j = split(v, a, /[ ,]+/)
				v = ""
				for (i = 1; i <= j; i++) if (a[i] ~ /:/) v = v v6hex(a[i])
				emit(q "Value", v)
			}
			if (D6[ifn, "dhcp6.server-id"] != "") emit(q "Server", "Device.DHCPv6.Client.{" ifn "}.Server.{" D6[ifn, "dhcp6.server-id"] "}")
		}
		emit(p "ReceivedOptionNumberOfEntries", c)
		emit(p "SentOptionNumberOfEntries", 0)
	}
	emit("Device.DHCPv6.ClientNumberOfEntries", n)
}

# dhclient.conf's "request" list, in order, as DHCP option tags
function dhc_requests(   f, l, inreq, txt, n, a, i, t, k) {
	f = DHCCF != "" ? DHCCF : "/etc/dhcp/dhclient.conf"
	txt = ""
	inreq = 0
	while ((getline l < f) > 0) {
		sub(/#.*/, "", l)
		if (l ~ /^[ \t]*(also[ \t]+)?request[ \t]/) { inreq = 1; sub(/^[ \t]*(also[ \t]+)?request[ \t]+/, "", l) }
		if (!inreq) continue
		txt = txt " " l
		if (index(l, ";")) inreq = 0
	}
	close(f)
	sub(/;.*/, "", txt)
	n = split(txt, a, /[ \t]*,[ \t]*/)
	split("subnet-mask 1 time-offset 2 routers 3 domain-name-servers 6 host-name 12 domain-name 15 " \
		"interface-mtu 26 broadcast-address 28 ntp-servers 42 netbios-name-servers 44 netbios-scope 47 " \
		"dhcp-lease-time 51 dhcp-server-identifier 54 domain-search 119 rfc3442-classless-static-routes 121", t, " ")
	for (i = 1; i in t; i += 2) TAGOF[t[i]] = t[i + 1]
	NREQ = 0
	for (i = 1; i <= n; i++) {
		k = a[i]
		gsub(/[ \t]/, "", k)
		if (k in TAGOF) { REQ[++NREQ] = k }
	}
	# "send host-name = gethostname();" / send OPTION "text";
	NSEND = 0
	while ((getline l < f) > 0) {
		sub(/#.*/, "", l)
		if (l !~ /^[ \t]*send[ \t]/) continue
		split(l, a, /[ \t]+/)
		k = a[1] == "" ? a[3] : a[2]
		if (!(k in TAGOF) || k ~ /^dhcp6\./) continue
		if (l ~ /gethostname\(\)/) txt = readfile("/proc/sys/kernel/hostname")
		else if (match(l, /"[^"]*"/)) txt = substr(l, RSTART + 1, RLENGTH - 2)
		else continue
		SEND[++NSEND] = k
		SENDV[NSEND] = k == "dhcp-lease-time" ? sprintf("%08x", txt) : strhex(txt)
	}
	close(f)
}

# an option's value from a lease, as the bytes on the wire in hex
function optvalue(name, v,   a, n, i, out) {
	if (v == "") return ""
	if (name ~ /^(subnet-mask|routers|domain-name-servers|broadcast-address|ntp-servers|netbios-name-servers|dhcp-server-identifier)$/) {
		n = split(v, a, /[ ,]+/)
		out = ""
		for (i = 1; i <= n; i++) if (a[i] ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) out = out iphex(a[i])
		return out
	}
	if (name ~ /^(host-name|domain-name|netbios-scope)$/) return strhex(v)
	if (name == "dhcp-lease-time" || name == "time-offset") return sprintf("%08x", v % 4294967296)
	if (name == "interface-mtu") return sprintf("%04x", v)
	return ""
}

function dhclient(   i, f, l, a, v, ifn, inlease, n, key, k) {
	for (i = 1; i <= NDHC; i++) {
		f = DHC[i]
		if (f ~ /^networkd /) { networkd(substr(f, 10)); continue }
		inlease = 0
		while ((getline l < f) > 0) {
			sub(/^[ \t]+/, "", l)
			sub(/;[ \t]*$/, "", l)
			if (l ~ /^lease *\{/) { inlease = 1; delete CUR; continue }
			if (!inlease) continue
			if (l ~ /^\}/) {
				inlease = 0
				if (CUR["interface"] != "") for (k in CUR) DHCL[CUR["interface"], k] = CUR[k]
				if (CUR["interface"] != "") DHCLIF[CUR["interface"]] = 1
				continue
			}
			v = l
			if (l ~ /^option /) { sub(/^option /, "", l); v = l }
			k = v
			sub(/[ \t].*/, "", k)
			v = substr(v, length(k) + 2)
			gsub(/"/, "", v)
			CUR[k] = v
		}
		close(f)
	}
	n = 0
	for (ifn in DHCLIF) {
		p = "Device.DHCPv4.Client.{" ifn "}."
		n++
		v = epoch(DHCL[ifn, "expire"])
		emit(p "Enable", "true")
		emit(p "Alias", "cpe-" ifn)
		emit(p "Interface", "Device.IP.Interface.{" ifn "}")
		emit(p "Status", "Enabled")
		emit(p "DHCPStatus", v > now ? "Bound" : "Init")
		emit(p "Renew", "false")
		if (v > now) {
			emit(p "IPAddress", DHCL[ifn, "fixed-address"])
			emit(p "SubnetMask", DHCL[ifn, "subnet-mask"])
			emit(p "IPRouters", DHCL[ifn, "routers"])
			v2 = DHCL[ifn, "domain-name-servers"]
			gsub(/ /, "", v2)
			emit(p "DNSServers", v2)
			emit(p "LeaseTimeRemaining", v - now)
			emit(p "DHCPServer", DHCL[ifn, "dhcp-server-identifier"])
		}
		if (DHCLF) {
			for (k = 1; k <= NREQ; k++) {
				q = p "ReqOption.{" TAGOF[REQ[k]] "}."
				emit(q "Enable", "true")
				emit(q "Alias", "cpe-" REQ[k])
				emit(q "Order", k)
				emit(q "Tag", TAGOF[REQ[k]])
				emit(q "Value", v > now ? optvalue(REQ[k], DHCL[ifn, REQ[k]]) : "")
			}
			emit(p "ReqOptionNumberOfEntries", NREQ)
			for (k = 1; k <= NSEND; k++) {
				q = p "SentOption.{" TAGOF[SEND[k]] "}."
				emit(q "Enable", "true")
				emit(q "Alias", "cpe-" SEND[k])
				emit(q "Tag", TAGOF[SEND[k]])
				emit(q "Value", SENDV[k])
			}
			emit(p "SentOptionNumberOfEntries", NSEND)
		}
	}
	NCLIENT = n
}

function networkd(f,   l, k, v, idx, ifn, p, d, i) {
	idx = f
	sub(/.*\//, "", idx)
	ifn = ""
	for (i = 1; i <= NAD; i++) if (readfile("/sys/class/net/" ADIF[i] "/ifindex") == idx) ifn = ADIF[i]
	if (ifn == "") return
	delete ND
	while ((getline l < f) > 0) {
		k = l
		sub(/=.*/, "", k)
		ND[k] = substr(l, length(k) + 2)
	}
	close(f)
	if (ND["ADDRESS"] == "") return
	DHCLIF[ifn] = 1
	DHCL[ifn, "fixed-address"] = ND["ADDRESS"]
	DHCL[ifn, "subnet-mask"] = ND["NETMASK"]
	d = ND["ROUTER"]
	gsub(/ /, ",", d)
	DHCL[ifn, "routers"] = d
	d = ND["DNS"]
	gsub(/ /, ",", d)
	DHCL[ifn, "domain-name-servers"] = d
	DHCL[ifn, "dhcp-server-identifier"] = ND["SERVER_ADDRESS"]
	DHCL[ifn, "expire"] = "networkd"
}

# dhclient's "4 2026/12/03 10:00:00" (UTC) -> epoch; networkd: bound now
function epoch(s,   a, d, t, y, m, era, yoe, doy, doe) {
	if (s == "networkd") return now + 1
	if (split(s, a, /[ \/:]+/) < 7) return 0
	y = a[2]; m = a[3]; d = a[4]
	if (m <= 2) y--
	era = int(y / 400)
	yoe = y - era * 400
	doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
	doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
	return (era * 146097 + doe - 719468) * 86400 + a[5] * 3600 + a[6] * 60 + a[7]
}

# ------------------------------------------------------------ Hosts
function upstream(   f, l, a) {
	f = "/proc/net/route"
	while ((getline l < f) > 0) {
		split(l, a, /[ \t]+/)
		if (a[2] == "00000000" && a[8] == "00000000") UPSTREAM[a[1]] = 1
	}
	close(f)
	f = "/proc/net/ipv6_route"
	while ((getline l < f) > 0) {
		split(l, a, /[ \t]+/)
		if (a[1] ~ /^0+$/ && a[2] == "00" && a[10] != "lo") UPSTREAM[a[10]] = 1
	}
	close(f)
}

function hosts(   i, mac, n, p, l1, dev, ip, m, li, v4, v6, act, key) {
	upstream()
	for (i = 1; i <= NN; i++) {
		if (NDEV[i] in UPSTREAM) continue
		mac = NMAC[i]
		if (!(mac in HDEV)) { HORDER[++NH] = mac; HDEV[mac] = NDEV[i] }
		if (NIP[i] ~ /:/) H6[mac] = H6[mac] " " NIP[i]
		else H4[mac] = H4[mac] " " NIP[i]
		if (NST[i] ~ /^(REACHABLE|STALE|DELAY|PROBE|PERMANENT|NOARP)$/) HACT[mac] = 1
	}
	for (i = 1; i <= LEASES; i++) {
		mac = LMAC[i]
		if (LEXP[i] != 0 && LEXP[i] <= now) continue
		if (!(mac in HDEV)) { HORDER[++NH] = mac; HDEV[mac] = ifof(LIP[i]) }
		if (index(H4[mac] " ", " " LIP[i] " ") == 0) H4[mac] = H4[mac] " " LIP[i]
	}
	for (i = 1; i <= NH; i++) {
		mac = HORDER[i]
		p = "Device.Hosts.Host.{" mac "}."
		dev = HDEV[mac]
		v4 = split(substr(H4[mac], 2), A4, " ")
		v6 = split(substr(H6[mac], 2), A6, " ")
		li = LEASE_OF[mac]
		ip = v4 ? A4[1] : v6 ? A6[1] : ""
		emit(p "Alias", "cpe-" mac)
		emit(p "PhysAddress", mac)
		emit(p "IPAddress", ip)
		if (li && LIP[li] == ip) {
			emit(p "AddressSource", "DHCP")
			emit(p "LeaseTimeRemaining", LEXP[li] == 0 ? -1 : LEXP[li] - now)
			if (LPOOL[li] != "") emit(p "DHCPClient", "Device.DHCPv4.Server.Pool.{" LPOOL[li] "}.Client.{" mac "}")
			emit(p "HostName", LHOST[li])
		} else {
			emit(p "AddressSource", ip ~ /^169\.254\./ ? "AutoIP" : ip == "" ? "None" : "Static")
			emit(p "LeaseTimeRemaining", 0)
			emit(p "DHCPClient", "")
			emit(p "HostName", "")
		}
		l1 = ""
		if (mac in FDB) l1 = "Device.Ethernet.Interface.{" FDB[mac] "}"
		else if (dev != "" && readfile("/sys/class/net/" dev "/type") == 1 && readfile("/sys/class/net/" dev "/uevent") !~ /DEVTYPE/) l1 = "Device.Ethernet.Interface.{" dev "}"
		emit(p "Layer1Interface", l1)
		emit(p "Layer3Interface", dev != "" ? "Device.IP.Interface.{" dev "}" : "")
		if (l1 ~ /Ethernet/) emit(p "AssociatedDevice", "")  # wired: no Wi-Fi association
		emit(p "Active", bool(HACT[mac]))
		for (m = 1; m <= v4; m++) emit(p "IPv4Address.{" A4[m] "}.IPAddress", A4[m])
		for (m = 1; m <= v6; m++) emit(p "IPv6Address.{" A6[m] "}.IPAddress", A6[m])
		emit(p "IPv4AddressNumberOfEntries", v4)
		emit(p "IPv6AddressNumberOfEntries", v6)
	}
	emit("Device.Hosts.HostNumberOfEntries", NH + 0)
}

# ------------------------------------------------------------ NAT, Firewall
function nft(   k, r, e, x, iif, oif, dport, dend, proto, rhost, daddr, dprt, masq, comment, key, n, field, right, pm, ifs, filt) {
	for (k = 0; k < JN["N.nftables"]; k++) {
		r = "N.nftables." k
		if (J[r ".chain.hook"] == "input" || J[r ".chain.hook"] == "forward") {
			if (J[r ".chain.type"] == "filter") { filt = 1; if (J[r ".chain.policy"] == "drop") FWDROP = 1 }
		}
		r = r ".rule"
		if (J[r ".family"] == "") continue
		iif = oif = dport = dend = proto = rhost = daddr = dprt = comment = ""
		masq = 0
		for (e = 0; e < JN[r ".expr"]; e++) {
			x = r ".expr." e
			if ((x ".match.op") in J) {
				right = J[x ".match.right"]
				if (J[x ".match.left.meta.key"] == "iifname") iif = right
				else if (J[x ".match.left.meta.key"] == "oifname") oif = right
				else if (J[x ".match.left.meta.key"] == "l4proto") proto = right
				else if (J[x ".match.left.payload.field"] == "dport") {
					proto = J[x ".match.left.payload.protocol"]
					if (right == "" && (x ".match.right.range.0") in J) { right = J[x ".match.right.range.0"]; dend = J[x ".match.right.range.1"] }
					dport = right
				} else if (J[x ".match.left.payload.field"] == "saddr" && J[x ".match.left.payload.protocol"] == "ip") rhost = right
				else if (J[x ".match.left.ct.key"] == "state") CTSTATE = 1
			}
			if ((x ".dnat.addr") in J) { daddr = J[x ".dnat.addr"]; dprt = J[x ".dnat.port"] }
			if ((x ".masquerade") in J || (x ".snat.addr") in J) masq = 1
		}
		if (J[r ".comment"] != "") comment = J[r ".comment"]
		if (masq && oif != "" && !(oif in NATIF)) { NATIF[oif] = 1; NIFS[++ifs] = oif }
		if (daddr != "" && dport != "" && (proto == "tcp" || proto == "udp")) {
			key = J[r ".family"] "/" J[r ".table"] "/" J[r ".chain"] "/" J[r ".handle"]
			portmap(key, iif, dport, dend, proto, rhost, daddr, dprt, comment)
		}
	}
	FWON = filt
	return ifs
}

function portmap(key, iif, dport, dend, proto, rhost, daddr, dprt, comment,   q) {
	q = "Device.NAT.PortMapping.{" key "}."
	NPM++
	emit(q "Enable", "true")
	emit(q "Status", "Enabled")
	emit(q "Alias", "cpe-pm" NPM)
	emit(q "AllInterfaces", bool(iif == ""))
	emit(q "Interface", iif != "" ? "Device.IP.Interface.{" iif "}" : "")
	emit(q "LeaseDuration", 0)
	emit(q "RemoteHost", rhost)
	emit(q "ExternalPort", dport)
	emit(q "ExternalPortEndRange", dend != "" ? dend : 0)
	emit(q "InternalPort", dprt != "" ? dprt : dport)
	emit(q "Protocol", toupper(proto))
	emit(q "InternalClient", daddr)
	emit(q "Description", comment)
}

function iptables(   i, l, a, n, j, iif, oif, dport, dend, proto, rhost, to, dprt, ifs, table, key) {
	for (i = 1; i <= NIPT; i++) {
		l = IPT[i]
		if (l ~ /^\*/) { table = substr(l, 2); continue }
		if (l ~ /^:(INPUT|FORWARD) DROP/) FWDROP = 1
		if (table == "filter" && l ~ /^-A (INPUT|FORWARD) /) FWON = 1
		if (l ~ / --ctstate | --state /) CTSTATE = 1
		if (table != "nat" || l !~ /^-A /) continue
		n = split(l, a, " ")
		iif = oif = dport = dend = proto = rhost = to = ""
		for (j = 1; j < n; j++) {
			if (a[j] == "-i") iif = a[j + 1]
			else if (a[j] == "-o") oif = a[j + 1]
			else if (a[j] == "-p") proto = a[j + 1]
			else if (a[j] == "--dport") dport = a[j + 1]
			else if (a[j] == "-s") { rhost = a[j + 1]; sub(/\/32$/, "", rhost) }
			else if (a[j] == "--to-destination") to = a[j + 1]
		}
		if (l ~ /-j (MASQUERADE|SNAT)/ && oif != "" && !(oif in NATIF)) { NATIF[oif] = 1; NIFS[++ifs] = oif }
		if (l ~ /-j DNAT/ && to != "" && dport != "" && (proto == "tcp" || proto == "udp")) {
			if (index(dport, ":")) { dend = substr(dport, index(dport, ":") + 1); dport = substr(dport, 1, index(dport, ":") - 1) }
			dprt = ""
			if (index(to, ":")) { dprt = substr(to, index(to, ":") + 1); to = substr(to, 1, index(to, ":") - 1) }
			key = l
			portmap(key, iif, dport, dend, proto, rhost, to, dprt, "")
		}
	}
	return ifs
}

function nat(   ifs, i, q) {
	if (JN["N.nftables"] > 0) ifs = nft()
	else if (NIPT) ifs = iptables()
	else return
	for (i = 1; i <= ifs; i++) {
		q = "Device.NAT.InterfaceSetting.{" NIFS[i] "}."
		emit(q "Enable", "true")
		emit(q "Status", "Enabled")
		emit(q "Alias", "cpe-" NIFS[i])
		emit(q "Interface", "Device.IP.Interface.{" NIFS[i] "}")
	}
	emit("Device.NAT.InterfaceSettingNumberOfEntries", ifs + 0)
	emit("Device.NAT.PortMappingNumberOfEntries", NPM + 0)
	emit("Device.Firewall.Enable", bool(FWON))
	emit("Device.Firewall.Config", FWON ? "Advanced" : "Off")
	emit("Device.Firewall.Version", "")  # a rule set carries no version
	fw_change()
	if (FWON) emit("Device.Firewall.Type", CTSTATE ? "Stateful" : "Stateless")
}

END {
	ASCII = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	srand()
	now = srand()
	dns_client()
	dnsmasq()
	if (NDHD) dhcpd()
	if (NDM || NDHD) {
		emit("Device.DHCPv4.Server.Enable", bool(NPOOL))
		emit("Device.DHCPv4.Server.PoolNumberOfEntries", NPOOL + 0)
	}
	dhc_procs()
	if (DHCLF) dhc_requests()
	dhclient()
	dhclient6()
	emit("Device.DHCPv4.ClientNumberOfEntries", NCLIENT + 0)
	if (NRDP) radvd()
	if (NDM || NRDP) {
		emit("Device.RouterAdvertisement.Enable", bool(NRA))
		emit("Device.RouterAdvertisement.InterfaceSettingNumberOfEntries", NRA + 0)
	}
	hosts()
	nat()
}

# the rule set less what changes without a change of settings: handles,
# counters, set element timeouts
function fw_text(   l) {
	l = $0
	gsub(/"(handle|packets|bytes|expires)": [0-9]+/, "", l)
	gsub(/\[[0-9]+:[0-9]+\]/, "", l)
	FWTEXT = FWTEXT l "\n"
}

# Firewall.LastChange: when this pack first saw the current rule set
# (rundir/firewall: that time, then the rule set)
function fw_change(   f, l, t, old, n) {
	if (rundir == "") return
	f = rundir "/firewall"
	old = ""
	n = 0
	while ((getline l < f) > 0) {
		if (++n == 1) t = l
		else old = old l "\n"
	}
	close(f)
	if (n == 0 || old != FWTEXT) {
		t = now
		printf "%s\n%s", now, FWTEXT > (f ".new")
		close(f ".new")
		system("mv -f '" f ".new' '" f "'")
	}
	emit("Device.Firewall.LastChange", isotime(t))
}
