package live

import (
	"errors"
	"testing"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/runtime/event"
)

// FuzzDecode feeds arbitrary headers and items to the decoder: it must
// never panic, and it either fills an event or reports why not.
func FuzzDecode(f *testing.F) {
	f.Add(uint32(257), int64(3), uint64(0), []byte("/etc/shadow"), []byte{2, 0, 0, 80, 1, 2, 3, 4}, []byte("cat\x00x\x00"))
	f.Add(uint32(42), int64(-115), uint64(7), []byte{}, []byte{10, 0, 0, 80}, []byte{1, 0, 0})
	f.Add(uint32(59), int64(0), uint64(0), []byte("/bin/sh"), []byte{1, 0}, []byte("\x00\x00"))
	f.Add(uint32(bpf.KindFork), int64(0), uint64(0), []byte{}, []byte{}, []byte{})
	d, err := NewDecoder(&DecoderOptions{ProcRoot: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	var ev event.Event
	f.Fuzz(func(t *testing.T, kind uint32, ret int64, arg uint64, path, addr, argv []byte) {
		h := &bpf.Header{Kind: kind, Ret: ret, Args: [6]uint64{arg, arg >> 3, arg >> 7, arg, arg, arg}, Tid: 1, Tgid: 1}
		v := view{hdr: h, path: path, hasPath: len(path) > 0, path2: argv, hasPath2: len(argv) > 1,
			exe: path, hasExe: len(path) > 2, argv: argv, hasArgv: len(argv) > 0, env: path, hasEnv: len(path) > 3,
			addr: addr, hasAddr: len(addr) > 0, local: argv, hasLocal: len(argv) > 4,
			open: bpf.OpenInfo{Flags: arg, Dirfd: int32(arg)}, hasOpen: arg&1 != 0,
			fork: bpf.ForkInfo{ParentTid: 1, ChildTid: uint32(arg)}, hasFork: arg&2 != 0,
			exitCode: int32(arg), hasExit: arg&4 != 0}
		err := d.decode(&v, &ev)
		switch {
		case err == nil:
			if ev.Info == nil {
				t.Fatal("decoded event without a type")
			}
		case errors.Is(err, errSkip), errors.Is(err, ErrUndecodable):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
