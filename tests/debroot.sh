#!/bin/sh
# debroot.sh ROOT DEB OUT ACS_URL: install DEB into a throw-away root with
# dpkg --root (its maintainer scripts run chrooted there), run one --once
# session from the installed files as the package's user, then purge it.
# Run inside "unshare --mount --propagation private" as root: every mount
# below disappears with the namespace. ROOT/usr is an overlay on the host's
# /usr (writes land in OUT/usr-upper, the host is never touched); ROOT/etc
# starts with copies of the host's account files; ROOT/var/lib/dpkg/status
# is prepared by the caller (the packages DEB depends on).
# Results in OUT: tree-*.txt listings, session.log, passwd-after.
set -eu
root=$1 deb=$2 out=$3 url=$4

mkdir -p "$out/usr-upper" "$out/usr-work" "$root/usr" "$root/dev" "$root/proc" "$root/tmp" "$root/run"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$out/usr-upper,workdir=$out/usr-work" "$root/usr"
mount --bind /dev "$root/dev"
mount -t proc proc "$root/proc"
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then
		ln -s "$(readlink "/$d")" "$root/$d"
	elif [ -d "/$d" ]; then
		mkdir -p "$root/$d"
		mount --bind "/$d" "$root/$d"
		mount -o remount,bind,ro "$root/$d"
	fi
done
chmod 1777 "$root/tmp"
# no service starts inside this root
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

listing() {
	(cd "$root" && find etc var -xdev | LC_ALL=C sort) >"$out/tree-$1.txt"
	(cd "$out/usr-upper" && find . | LC_ALL=C sort) >"$out/usr-$1.txt"
}

listing before
dpkg --root="$root" --force-not-root --install "$deb" >"$out/dpkg-install.log" 2>&1
listing installed
chroot "$root" stat -c '%U:%G %a %n' /etc/rocket/rocket.conf /var/lib/rocket >"$out/modes.txt"

# point the installed configuration at the test ACS, then one session as
# the package's user, from the installed zipapp, backends and state dir
conf="$root/etc/rocket/rocket.conf"
sed -i -e "s|^url =\$|url = $url|" -e 's|^serial_number =$|serial_number = DEB-0001|' \
	-e 's|^port = 7547$|port = 0|' -e 's|^bind =$|bind = 127.0.0.1|' "$conf"
rc=0
chroot --userspec=rocket:rocket "$root" /usr/bin/python3 -I -S /usr/lib/rocket/rocket.pyz \
	-c /etc/rocket/rocket.conf --once --boot >"$out/session.log" 2>&1 || rc=$?
echo "$rc" >"$out/session.rc"
(cd "$root/var/lib/rocket" && ls -A) >"$out/state.txt"

dpkg --root="$root" --force-not-root --purge rocket >"$out/dpkg-purge.log" 2>&1
rm -f "$root/usr/sbin/policy-rc.d"
listing purged
cp "$root/etc/passwd" "$out/passwd-after"
cp "$root/var/lib/dpkg/statoverride" "$out/statoverride-after" 2>/dev/null || : >"$out/statoverride-after"
