#!/bb/busybox sh
# /init of the kernel matrix's guest (see internal/kmatrix). It mounts what
# the bpf tests and falco-run need, runs the two steps and reports on the
# second serial port (ttyS1) between "@@kmatrix " marker lines, which the
# host parses (internal/kmatrix/report.go); the first port is the kernel's
# console. Settings come from /kmatrix/config, written by the host.

/bb/busybox --install -s /bb
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/bb
export HOME=/root TMPDIR=/tmp LANG=C

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ifconfig lo 127.0.0.1 up
hostname kmatrix

. /kmatrix/config
# The host may shorten the tests' timeout per VM on the kernel command line
# (kmatrix.test_timeout=), to keep the whole matrix within its budget.
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	kmatrix.test_timeout=*) KM_TEST_TIMEOUT=${arg#kmatrix.test_timeout=} ;;
	esac
done

# The results port; the console if the kernel has no second serial port
# (the host then parses the console).
if [ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null; then
	exec 3>/dev/ttyS1
else
	echo "kmatrix: no /dev/ttyS1: reporting on the console"
	exec 3>/dev/console
fi

say() {
	echo "@@kmatrix $*" >&3
	echo "kmatrix: $*"
}

# dump NAME FILE: a file's content between markers (at most 1 MB).
dump() {
	say "file $1 begin"
	head -c 1048576 "$2" >&3 2>/dev/null
	echo >&3
	say "file $1 end"
}

finish() {
	say end
	sync
	sleep 1
	poweroff -f
	echo o >/proc/sysrq-trigger
}

say begin
say "uname $(uname -r)"

# The kernel modules the tests need (overlay: TestExecFlags mounts an
# overlayfs, a module in Debian's cloud kernels), built for this kernel and
# listed in load order by the host.
mods=/kmatrix/modules/$(uname -r)
if [ -f "$mods/order" ]; then
	while read -r name; do
		[ -n "$name" ] || continue
		if err=$(insmod "$mods/$name.ko" 2>&1); then
			say "module $name loaded"
		else
			say "module $name error $(echo "$err" | tr '\n' ' ')"
		fi
	done <"$mods/order"
else
	say "modules none"
fi

# Step 1: the bpf package's tests, privileged tests required.
say "step bpf-tests begin"
cd /kmatrix/work/bpf
set -- -test.v -test.count=1 -test.timeout="$KM_TEST_TIMEOUT"
[ -n "$KM_TEST_SKIP" ] && set -- "$@" -test.skip="$KM_TEST_SKIP"
[ -n "$KM_TEST_RUN" ] && set -- "$@" -test.run="$KM_TEST_RUN"
echo "kmatrix: bpf.test $*"
FALCOC_REQUIRE_PRIVILEGED=1 /kmatrix/bpf.test "$@" >&3 2>&1
rc=$?
say "step bpf-tests end rc=$rc"
cd /

# Step 2: falco-run with the embedded default rules against a workload
# that must raise alerts (the host's expectedAlerts names the rules).
say "step falco-run begin"
/kmatrix/falco-run -U -o json_output=true >/tmp/alerts.json 2>/tmp/falco-run.stderr &
pid=$!
ready=0
i=0
while [ "$i" -lt "$KM_READY_TIMEOUT" ]; do
	if grep -q 'live capture ready' /tmp/falco-run.stderr; then
		ready=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
	i=$((i + 1))
done
if [ "$ready" = 1 ]; then
	say "falco-run ready"
	# workload NAME CMD...: runs a workload step and reports its status.
	workload() {
		name=$1
		shift
		"$@" >/dev/null 2>&1
		say "workload $name rc=$?"
	}
	workload read-shadow cat /etc/shadow
	workload write-etc dash -c 'echo falcoc >/etc/falcoc-kmatrix'
	cp /usr/bin/true /dev/shm/falcoc-kmatrix-true
	workload exec-dev-shm /dev/shm/falcoc-kmatrix-true
	# Let the events drain through the ring buffer and the engine.
	sleep 3
else
	say "falco-run not-ready"
fi
kill -INT "$pid" 2>/dev/null
( sleep "$KM_STOP_TIMEOUT"; kill -KILL "$pid" 2>/dev/null ) &
killer=$!
wait "$pid"
rc=$?
kill "$killer" 2>/dev/null
dump falco-run.stderr /tmp/falco-run.stderr
dump alerts.json /tmp/alerts.json
# falco-run keeps the verifier's log of a program the kernel refused.
for f in /tmp/falco-run-verifier-*.log; do
	[ -f "$f" ] && dump "$(basename "$f")" "$f"
done
say "step falco-run end rc=$rc"

# The kernel's log, for warnings the console's loglevel hides.
dmesg >/tmp/dmesg 2>&1
dump dmesg /tmp/dmesg

finish
