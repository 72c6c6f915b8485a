# Debian package helpers for the image builders (sourced by tests/linux/build-image.sh and
# tests/lab/build.sh): download .debs with apt-get (never installing them), unpack a kernel
# package, and put a list of its modules in load order, decompressed.
# The caller sets DEBS (the .deb cache directory) and defines die().

# apt-get download PKG... into $DEBS; runs apt-get update once if a package is not known yet.
deb_apt_updated=0
deb_fetch() {
	local errf=$DEBS/.apt-err
	mkdir -p "$DEBS"
	if (cd "$DEBS" && apt-get -q -o APT::Sandbox::User=root download "$@" >/dev/null 2>"$errf"); then
		return 0
	fi
	if [ $deb_apt_updated = 0 ]; then
		echo "apt-get download $* failed ($(grep -m1 '^E:' "$errf" || true)); running apt-get update" >&2
		apt-get update -qq || true
		deb_apt_updated=1
		(cd "$DEBS" && apt-get -q -o APT::Sandbox::User=root download "$@" >/dev/null 2>"$errf") && return 0
	fi
	die "cannot download Debian package(s) $*: $(grep -m1 '^E:' "$errf" || cat "$errf")"
}

# The .deb file of PKG in $DEBS (the candidate version apt would download).
deb_cached() {
	local pkg=$1 ver f
	ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2; exit}')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
	ver=${ver//:/%3a}
	f=$(ls "$DEBS/${pkg}_${ver}_"*.deb 2>/dev/null | head -n1)
	[ -n "$f" ] && echo "$f"
}

# deb_get PKG: download (unless cached) and print the .deb path.
deb_get() {
	local f
	if ! f=$(deb_cached "$1"); then
		deb_fetch "$1"
		f=$(deb_cached "$1") || f=$(ls -t "$DEBS/${1}_"*.deb 2>/dev/null | head -n1)
	fi
	[ -n "$f" ] && [ -s "$f" ] || die "no .deb for $1 after download"
	echo "$f"
}

# Package names a .deb depends on (first alternative, no versions).
deb_depends() {
	dpkg-deb -f "$1" Depends Pre-Depends 2>/dev/null | sed 's/^[A-Za-z-]*: //' | tr ',' '\n' |
		sed 's/|.*//; s/(.*)//; s/:any//; s/ //g' | grep -v '^$' || true
}

deb_host_has() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# deb_kernel META PATTERN DEST: resolve the kernel metapackage META to the package it depends
# on (the first whose name matches the extended regex PATTERN), unpack it into DEST (emptied
# first) and run depmod there. Sets KPKG, KDEB, KVER, KMODS (DEST/lib/modules/KVER).
deb_kernel() {
	local meta
	meta=$(deb_get "$1")
	KPKG=$(deb_depends "$meta" | grep -m1 -E "$2") ||
		die "$1 ($(basename "$meta")) depends on no package matching $2"
	KDEB=$(deb_get "$KPKG")
	rm -rf "$3"
	mkdir -p "$3"
	dpkg-deb -x "$KDEB" "$3"
	KVER=$(ls "$3/lib/modules" | head -n1)
	[ -n "$KVER" ] || die "$KDEB has no /lib/modules/<version>"
	[ -s "$3/boot/vmlinuz-$KVER" ] || die "$KDEB has no /boot/vmlinuz-$KVER"
	KMODS=$3/lib/modules/$KVER
	depmod -b "$3" "$KVER" || die "depmod failed on $KMODS"
	[ -s "$KMODS/modules.dep" ] || die "depmod wrote no $KMODS/modules.dep"
}

# deb_modules DEST NAME...: the modules NAME (dashes and underscores alike) of the kernel
# unpacked by deb_kernel, with their dependencies first, decompressed into DEST (busybox insmod
# may not read .ko.xz/.ko.zst). Prints the file names in load order; a module built into the
# kernel is skipped (noted on stderr), one that is neither is an error.
deb_modules() {
	local dest=$1 m rel name
	shift
	mkdir -p "$dest"
	local -a order=()
	local -A seen=()
	deb_mod_visit() { # depth first: dependencies before the module
		local r=$1 d
		[ -n "${seen[$r]:-}" ] && return 0
		seen[$r]=1
		for d in $(grep -E "^${r//./\\.}:" "$KMODS/modules.dep" | cut -d: -f2-); do deb_mod_visit "$d"; done
		order+=("$r")
	}
	for m in "$@"; do
		local n=${m//[-_]/[-_]}
		rel=$(grep -E "(^|/)${n}\.ko(\.xz|\.zst|\.gz)?:" "$KMODS/modules.dep" | head -n1 | cut -d: -f1)
		if [ -n "$rel" ]; then
			deb_mod_visit "$rel"
		elif grep -qE "(^|/)${n}\.ko$" "$KMODS/modules.builtin"; then
			echo "module $m is built into $KVER" >&2
		else
			die "module $m is neither in $KMODS/modules.dep nor built in"
		fi
	done
	for rel in "${order[@]}"; do
		name=$(basename "$rel")
		case $name in
		*.ko.xz) xz -dc "$KMODS/$rel" >"$dest/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) command -v zstd >/dev/null || apt-get install -y -qq zstd >/dev/null
			zstd -qdc "$KMODS/$rel" >"$dest/${name%.zst}"; name=${name%.zst} ;;
		*.ko.gz) gzip -dc "$KMODS/$rel" >"$dest/${name%.gz}"; name=${name%.gz} ;;
		*) cp "$KMODS/$rel" "$dest/$name" ;;
		esac
		echo "$name"
	done
}
