# lastchange.awk: LastChange of network interfaces for the packs that count
# it themselves (linux-net, openwrt): neither the kernel nor netifd records
# when a link changed state, so it is the seconds since this pack first saw
# the interface in its current state (a string the pack makes of what it
# reads: Status, ifindex, carrier_changes...; a flap between two reads
# counts as a change at the later read). POSIX awk.
#
# The including program provides emit(path, value). Kept in one file of the
# pack's run directory, rewritten only when something changed:
#   lc_load(FILE, BOOT, CLOCK)  read it; entries of another BOOT (boot id) or
#                               from a later CLOCK (seconds) are dropped
#   lastchange(PREFIX, NAME, STATE)  emit PREFIX "LastChange" of NAME
#   lc_save()                   drop what was not seen in this run, write
function lc_load(f, boot, clock,   l, a, ok) {
	LCF = f
	LCBOOT = boot
	LCCLOCK = clock
	while ((getline l < f) > 0) {
		split(l, a, "\t")
		if (a[1] == "boot") ok = a[2] == boot
		else if (ok && a[3] <= clock) { LCST[a[1]] = a[2]; LCT[a[1]] = a[3] }
	}
	close(f)
}

function lastchange(p, n, st) {
	if (LCF == "") return
	if (!(n in LCNOW)) {
		if (!(n in LCST) || LCST[n] != st) { LCST[n] = st; LCT[n] = LCCLOCK; LCDIRTY = 1 }
		LCNOW[n] = 1
	}
	emit(p "LastChange", LCCLOCK - LCT[n])
}

function lc_save(   k) {
	if (LCF == "") return
	for (k in LCST) if (!(k in LCNOW)) { delete LCST[k]; LCDIRTY = 1 }
	if (!LCDIRTY) return
	print "boot\t" LCBOOT > (LCF ".new")
	for (k in LCST) printf "%s\t%s\t%s\n", k, LCST[k], LCT[k] > (LCF ".new")
	close(LCF ".new")
	system("mv -f '" LCF ".new' '" LCF "'")
}
