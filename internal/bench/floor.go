package bench

import (
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// floorProgName names the floor's program (not a falcoc capture).
const floorProgName = "falcoc_floor"

// attachFloor attaches a program that returns at once to the same hook as
// falco-run's capture (tp_btf/sys_exit). What it costs a workload is the
// kernel's price for any syscall capture here: once a program sits on the
// syscall tracepoints every syscall of every task takes the slow exit path
// and the BPF dispatch. The figure separates that from what falco-run's
// program itself costs.
func attachFloor() (io.Closer, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         floorProgName,
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     "sys_exit",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("floor: load an empty sys_exit program: %w", err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		prog.Close()
		return nil, fmt.Errorf("floor: attach an empty sys_exit program: %w", err)
	}
	return &floor{prog, l}, nil
}

type floor struct {
	prog *ebpf.Program
	link link.Link
}

func (f *floor) Close() error {
	err := f.link.Close()
	f.prog.Close()
	return err
}
