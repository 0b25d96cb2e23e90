package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
)

// agentPrograms opens the BPF programs that process pid holds, found
// through /proc/PID/fdinfo. The caller closes them.
func agentPrograms(pid int) ([]*ebpf.Program, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, fmt.Errorf("find BPF programs: %w", err)
	}
	var progs []*ebpf.Program
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil || link != "anon_inode:bpf-prog" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		id, ok := fdinfoField(string(info), "prog_id")
		if !ok {
			continue
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			continue
		}
		progs = append(progs, p)
	}
	if len(progs) == 0 {
		return nil, fmt.Errorf("find BPF programs of pid %d: none", pid)
	}
	return progs, nil
}

// progTime sums the run time and run count of programs (needs BPF
// statistics enabled, see [Options.BPFStats]).
func progTime(progs []*ebpf.Program) (time.Duration, uint64, error) {
	var rt time.Duration
	var n uint64
	for _, p := range progs {
		s, err := p.Stats()
		if err != nil {
			return 0, 0, fmt.Errorf("BPF program stats: %w", err)
		}
		rt += s.Runtime
		n += s.RunCount
	}
	return rt, n, nil
}

// captureProgName is the name of falco-run's syscall exit program.
const captureProgName = "on_sys_exit"

// loadedCaptures counts the falcoc capture programs loaded on the machine
// (ours included): another falco-run running at the same time adds its
// own cost to every measurement.
func loadedCaptures() int {
	n := 0
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return n
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil && info.Name == captureProgName {
			n++
		}
		p.Close()
	}
}
