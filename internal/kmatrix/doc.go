// Package kmatrix is the kernel matrix: it boots each of Debian's cloud
// kernels under QEMU and runs, as root inside the guest, the bpf package's
// tests and falco-run with the default rules against a scripted workload
// that must raise alerts (issue 8).
//
// The host side:
//
//   - fetch.go and apt.go download the kernels, QEMU 10 (from
//     bookworm-backports) and busybox-static with `apt-get download`
//     through the mirror the machine's apt already uses, with a private
//     apt configuration, sources list and state; nothing of the machine's
//     apt configuration changes. The newest kernel of each suite is
//     resolved at run time from the private package lists. Besides each
//     kernel's vmlinuz, modules.go takes the modules the guest needs
//     (overlay, for TestExecFlags, and whatever it depends on) out of the
//     package that holds the kernel's modules, decompressed. Everything is
//     cached (by default below /var/cache/falcoc-kmatrix), so a second run
//     downloads nothing.
//   - initramfs.go and cpio.go build one initramfs (cpio newc, gzip) for all
//     kernels: busybox-static, a few of the host's programs with their
//     shared libraries (what the bpf tests exec), the static test binary,
//     a static falco-run, every kernel's modules below
//     /kmatrix/modules/RELEASE and guest/init.sh as /init, which insmods
//     those of the kernel it runs on before the tests and reports each
//     (a module that did not load fails the kernel).
//   - run.go boots the kernels, two at a time, with QEMU's TCG (the KVM of
//     this kind of machine cannot run them, see notes/kernel-matrix.md).
//
// The guest writes everything it reports to its second serial port
// (ttyS1), framed by marker lines that start with "@@kmatrix " (see
// report.go); the first serial port is the kernel's console. Both are
// kept as logs. report.go turns the markers into a [Report], headroom.go
// compares the verifier figures the tests print ("falcoc-headroom:"
// lines) with golden files, and summary.go prints the table.
package kmatrix
