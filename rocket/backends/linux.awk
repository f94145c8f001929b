# linux.awk: DeviceInfo tables and Users -> TR-181 records (see linux).
#
# Input sections: @P /proc/<pid>/stat paths, @T "zone DIR" / "hwmon FILE"
# temperature sources, @L log files. Variables: now (epoch seconds),
# rundir (the backend's private directory: temperature minima/maxima).

/^@/ { sec = substr($0, 2); next }
sec == "P" { NP++; PSTAT[NP] = $0; next }
sec == "T" { NT++; TKIND[NT] = $1; TSRC[NT] = $2; TVAL[NT] = $3; next }
sec == "L" { NL++; LOGF[NL] = $0; next }

function processes(   i, l, pid, comm, rest, f, n, ps, st, cnt, state) {
	ps = pagesize()
	cnt = 0
	for (i = 1; i <= NP; i++) {
		l = readfile(PSTAT[i])
		if (l == "") continue  # gone meanwhile
		pid = l
		sub(/ .*/, "", pid)
		comm = l
		sub(/^[^(]*\(/, "", comm)
		sub(/\)[^)]*$/, "", comm)
		rest = l
		sub(/.*\) /, "", rest)
		n = split(rest, f, " ")
		if (n < 22) continue
		# rest: 1 state 2 ppid ... 12 utime 13 stime ... 16 priority ... 22 rss (pages)
		st = f[1]
		state = st == "R" ? "Running" : st == "S" ? "Sleeping" : st == "D" ? "Uninterruptible" : st == "Z" ? "Zombie" : (st == "T" || st == "t") ? "Stopped" : st == "I" ? "Idle" : ""
		p = "Device.DeviceInfo.ProcessStatus.Process." pid "."
		cnt++
		emit(p "PID", pid)
		emit(p "Command", comm)
		if (ps) emit(p "Size", sprintf("%.0f", f[22] * ps / 1024))
		if (f[16] >= 0 && f[16] <= 99) emit(p "Priority", f[16])
		# USER_HZ is 100 on every Linux ABI in use on routers and PCs
		emit(p "CPUTime", sprintf("%.0f", (f[12] + f[13]) * 10 % 4294967296))
		if (state != "") emit(p "State", state)
	}
	emit("Device.DeviceInfo.ProcessStatus.ProcessNumberOfEntries", cnt)
}

function pagesize(   f, l) {
	f = "/proc/self/smaps"
	while ((getline l < f) > 0)
		if (l ~ /^KernelPageSize:/) {
			close(f)
			split(l, a, /[ \t]+/)
			return a[2] * 1024
		}
	close(f)
	return 0
}

function temperatures(   i, d, name, v, key, cnt, p, f, l, a, k, changed) {
	f = rundir != "" ? rundir "/temperature" : ""
	if (f != "") {
		while ((getline l < f) > 0) {
			split(l, a, "\t")
			TMIN[a[1]] = a[2]; TMINT[a[1]] = a[3]; TMAX[a[1]] = a[4]; TMAXT[a[1]] = a[5]; TRES[a[1]] = a[6]
			KNOWN[a[1]] = 1
		}
		close(f)
	}
	cnt = 0
	for (i = 1; i <= NT; i++) {
		if (TKIND[i] == "zone") {
			d = TSRC[i]
			name = readfile(d "/type")
			key = d
			sub(/.*\//, "", key)
			v = TVAL[i]
		} else {
			d = TSRC[i]
			k = d
			sub(/_input$/, "", k)
			name = readfile(k "_label")
			l = d
			sub(/\/[^\/]*$/, "", l)
			key = l
			sub(/.*\//, "", key)
			key = key "-" substr(k, length(l) + 2)
			if (name == "") name = readfile(l "/name")
			if (name == "") name = key
			v = TVAL[i]
		}
		if (v !~ /^-?[0-9]+$/) continue
		v = int(v / 1000)
		p = "Device.DeviceInfo.TemperatureStatus.TemperatureSensor.{" key "}."
		cnt++
		if (!(key in KNOWN)) {
			TMIN[key] = v; TMINT[key] = now; TMAX[key] = v; TMAXT[key] = now; TRES[key] = now
			KNOWN[key] = 1; changed = 1
		}
		if (v < TMIN[key] + 0) { TMIN[key] = v; TMINT[key] = now; changed = 1 }
		if (v > TMAX[key] + 0) { TMAX[key] = v; TMAXT[key] = now; changed = 1 }
		emit(p "Enable", "true")
		emit(p "Status", "Enabled")
		emit(p "Alias", "cpe-" key)
		emit(p "Name", name)
		emit(p "Value", v)
		emit(p "LastUpdate", isotime(now))
		emit(p "ResetTime", isotime(TRES[key]))
		emit(p "MinValue", TMIN[key])
		emit(p "MinTime", isotime(TMINT[key]))
		emit(p "MaxValue", TMAX[key])
		emit(p "MaxTime", isotime(TMAXT[key]))
	}
	emit("Device.DeviceInfo.TemperatureStatus.TemperatureSensorNumberOfEntries", cnt)
	if (changed && f != "") {
		for (k in KNOWN)
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", k, TMIN[k], TMINT[k], TMAX[k], TMAXT[k], TRES[k] > (f ".new")
		close(f ".new")
		system("mv -f '" f ".new' '" f "'")
	}
}

function processors(   f, l, n, arch, a) {
	arch = readfile("/proc/sys/kernel/arch")
	if (arch ~ /^(x86_64|i386)$/) ;
	else if (arch ~ /^i[3-6]86$/) arch = "i386"
	else if (arch ~ /^(arm|aarch64)/) arch = "arm"
	else if (arch ~ /^(ppc|powerpc)/) arch = "powerpc"
	else arch = ""
	f = "/proc/cpuinfo"
	n = 0
	while ((getline l < f) > 0) {
		if (l !~ /^processor[ \t]*:/) continue
		split(l, a, /:[ \t]*/)
		p = "Device.DeviceInfo.Processor.{cpu" a[2] "}."
		n++
		emit(p "Alias", "cpe-cpu" a[2])
		if (arch != "") emit(p "Architecture", arch)
	}
	close(f)
	emit("Device.DeviceInfo.ProcessorNumberOfEntries", n)
}

function logfiles(   i, f, l, a, mp, fs, best, p, persist) {
	f = "/proc/mounts"
	while ((getline l < f) > 0) {
		split(l, a, " ")
		MNT[a[2]] = a[3]
	}
	close(f)
	for (i = 1; i <= NL; i++) {
		best = ""
		for (mp in MNT)
			if ((index(LOGF[i], mp == "/" ? "/" : mp "/") == 1) && length(mp) > length(best)) best = mp
		fs = best != "" ? MNT[best] : ""
		p = "Device.DeviceInfo.VendorLogFile.{" LOGF[i] "}."
		emit(p "Alias", "cpe-log" i)
		emit(p "Name", LOGF[i])
		emit(p "MaximumSize", 0)  # TR-181: 0 when the device does not know it
		if (fs != "") emit(p "Persistent", (fs == "tmpfs" || fs == "ramfs") ? "false" : "true")
	}
	emit("Device.DeviceInfo.VendorLogFileNumberOfEntries", NL + 0)
}

function users(   f, l, a, n, sh, lock) {
	f = "/etc/shadow"
	while ((getline l < f) > 0) {
		split(l, a, ":")
		LOCKED[a[1]] = (a[2] ~ /^[!*]/)
	}
	close(f)
	f = "/etc/passwd"
	n = 0
	while ((getline l < f) > 0) {
		if (split(l, a, ":") < 7) continue
		if (!(a[3] == 0 || (a[3] >= 1000 && a[3] < 65534))) continue
		p = "Device.Users.User.{" a[1] "}."
		n++
		emit(p "Alias", "cpe-" a[1])
		if (a[1] in LOCKED) emit(p "Enable", LOCKED[a[1]] ? "false" : "true")
		emit(p "UserID", a[3])
		emit(p "Username", a[1])
		emit(p "Password", "")
	}
	close(f)
	emit("Device.Users.UserNumberOfEntries", n)
}

END {
	processes()
	temperatures()
	processors()
	logfiles()
	users()
}
