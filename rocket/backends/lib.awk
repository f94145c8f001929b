# lib.awk: helpers for Rocket backends that do their work in one awk run
# (POSIX awk: mawk, gawk, busybox awk). Load it first:
#
#     awk -f "${0%/*}/lib.awk" -f "${0%/*}/linux-net.awk"
#
# jfeed(LINE, ROOT)  streaming JSON flattener: feed the JSON text line by
#                    line (start each document with jreset()); every scalar
#                    lands in J[path], every array's length in JN[path]:
#                    '[{"a":[1,2]}]' under ROOT "x" gives J["x.0.a.0"] = 1,
#                    J["x.0.a.1"] = 2, JN["x.0.a"] = 2, JN["x"] = 1.
# emit(PATH, VALUE)  one record of a backend answer (escaped; control
#                    characters dropped)
# isotime(EPOCH)     "YYYY-MM-DDTHH:MM:SSZ"
# mask(LEN)          IPv4 prefix length -> dotted netmask
# readfile(FILE)     first line of a file ("" if unreadable); no fork
# hex(STRING)        hexadecimal -> number
# v6short(ADDR)      the longest run of zero groups of an IPv6 address as "::"
# v6prefix(ADDR, N)  the /N prefix of an IPv6 address ("fd77::/64")
# pow2(N)            2 to the power N (busybox awk may lack `^`: no libm)

function jreset() { _jd = 0; _jx = 0 }

function _jelem(root,   p) {
	if (_jd == 0) return root
	if (_ja[_jd]) {
		p = _jp[_jd] "." _jn[_jd]
		_jn[_jd]++
		return p
	}
	return _jp[_jd] "." _jk[_jd]
}

function _junesc(t,   out, i, c) {
	if (index(t, "\\") == 0) return t
	out = ""
	while ((i = index(t, "\\")) > 0) {
		out = out substr(t, 1, i - 1)
		c = substr(t, i + 1, 1)
		if (c == "n") c = "\n"
		else if (c == "t") c = "\t"
		else if (c == "r" || c == "b" || c == "f") c = ""
		else if (c == "u") { c = "?"; t = substr(t, 5) }
		out = out c
		t = substr(t, i + 2)
	}
	return out t
}

function jfeed(s, root,   pos, n, c, w, p) {
	n = length(s)
	pos = 1
	while (pos <= n) {
		c = substr(s, pos, 1)
		if (c == " " || c == "\t" || c == "\r" || c == ":") { pos++; continue }
		if (c == ",") { if (!_ja[_jd]) _jx = 1; pos++; continue }
		if (c == "{" || c == "[") {
			p = _jelem(root)
			_jd++
			_jp[_jd] = p
			_ja[_jd] = (c == "[")
			_jn[_jd] = 0
			_jx = (c == "{")
			pos++
			continue
		}
		if (c == "}" || c == "]") {
			if (_ja[_jd]) JN[_jp[_jd]] = _jn[_jd]
			if (_jd > 0) _jd--
			_jx = 0
			pos++
			continue
		}
		if (c == "\"") {
			# a window keeps the cost linear on long lines (nft -j)
			w = substr(s, pos, 2048)
			if (!match(w, /^"([^"\\]|\\.)*"/)) {
				w = substr(s, pos)
				if (!match(w, /^"([^"\\]|\\.)*"/)) return
			}
			p = _junesc(substr(w, 2, RLENGTH - 2))
			pos += RLENGTH
			if (!_ja[_jd] && _jx) { _jk[_jd] = p; _jx = 0 }
			else J[_jelem(root)] = p
			continue
		}
		w = substr(s, pos, 64)
		if (!match(w, /^[^],} \t\r]+/)) return
		J[_jelem(root)] = substr(w, 1, RLENGTH)
		pos += RLENGTH
	}
}

function _esc(v,   out, i) {
	if (v ~ /[\001-\037\177]/) gsub(/[\001-\037\177]/, "", v)
	if (index(v, "\\") == 0) return v
	out = ""
	while ((i = index(v, "\\")) > 0) {
		out = out substr(v, 1, i) "\\"
		v = substr(v, i + 1)
	}
	return out v
}

function emit(path, value) {
	printf "%s\t%s\n", _esc(path), _esc(value)
}

function isotime(t,   d, s, z, era, doe, yoe, y, doy, mp, dd, m) {
	t = int(t)
	d = int(t / 86400)
	s = t - d * 86400
	z = d + 719468
	era = int(z / 146097)
	doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	y = yoe + era * 400
	doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
	mp = int((5 * doy + 2) / 153)
	dd = doy - int((153 * mp + 2) / 5) + 1
	m = mp < 10 ? mp + 3 : mp - 9
	if (m <= 2) y++
	return sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, dd, int(s / 3600), int((s % 3600) / 60), s % 60)
}

function pow2(n,   v) {
	v = 1
	while (n-- > 0) v *= 2
	return v
}

function mask(n,   out, i, o) {
	n += 0
	out = ""
	for (i = 0; i < 4; i++) {
		if (n >= 8) { o = 255; n -= 8 }
		else if (n <= 0) o = 0
		else { o = 256 - pow2(8 - n); n = 0 }
		out = out (i ? "." : "") o
	}
	return out
}

function masklen(m,   a, i, n, o) {
	split(m, a, ".")
	n = 0
	for (i = 1; i <= 4; i++) {
		o = a[i] + 0
		while (o >= 128) { n++; o = (o - 128) * 2 }
	}
	return n
}

function bool(b) { return b ? "true" : "false" }

function readfile(f,   l) {
	l = ""
	if ((getline l < f) <= 0) l = ""
	close(f)
	return l
}

function hex(s,   i, n, c) {
	n = 0
	s = tolower(s)
	sub(/^0x/, "", s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (c == 0) break
		n = n * 16 + c - 1
	}
	return n
}

# the longest run of ":0" groups becomes "::"
function v6short(ip,   best, cur, i, n, g, start, bs, out) {
	n = split(ip, g, ":")
	best = 0; cur = 0; bs = 0
	for (i = 1; i <= n; i++) {
		if (g[i] == "0") { if (!cur) start = i; cur++; if (cur > best) { best = cur; bs = start } }
		else cur = 0
	}
	if (best < 2) return ip
	out = ""
	for (i = 1; i < bs; i++) out = out (i > 1 ? ":" : "") g[i]
	out = out "::"
	for (i = bs + best; i <= n; i++) out = out (i > bs + best ? ":" : "") g[i]
	return out
}

# the prefix of an IPv6 address: ip & mask, "::"-shortened, "/LEN"
function v6prefix(ip, plen,   g, n, i, full, left, right, nl, nr, k, bits, v, out) {
	n = split(ip, g, "::")
	nl = split(g[1], left, ":")
	if (g[1] == "") nl = 0
	nr = 0
	if (n == 2) { nr = split(g[2], right, ":"); if (g[2] == "") nr = 0 }
	k = 0
	for (i = 1; i <= nl; i++) full[++k] = hex(left[i])
	for (i = 1; i <= 8 - nl - nr; i++) full[++k] = 0
	for (i = 1; i <= nr; i++) full[++k] = hex(right[i])
	out = ""
	for (i = 1; i <= 8; i++) {
		bits = plen - (i - 1) * 16
		v = full[i]
		if (bits <= 0) v = 0
		else if (bits < 16) v = int(v / pow2(16 - bits)) * pow2(16 - bits)
		out = out (i > 1 ? ":" : "") sprintf("%x", v)
	}
	return v6short(out) "/" plen
}

# /proc/net/dev into RXB RXP RXE RXD RXM / TXB TXP TXE TXD, by interface name
function read_stats(   f, l, a, n) {
	f = "/proc/net/dev"
	while ((getline l < f) > 0) {
		if (index(l, ":") == 0) continue
		n = l
		sub(/:.*/, "", n)
		gsub(/ /, "", n)
		sub(/^[^:]*:[ \t]*/, "", l)
		split(l, a, /[ \t]+/)
		RXB[n] = a[1]; RXP[n] = a[2]; RXE[n] = a[3]; RXD[n] = a[4]; RXM[n] = a[8]
		TXB[n] = a[9]; TXP[n] = a[10]; TXE[n] = a[11]; TXD[n] = a[12]
	}
	close(f)
}
