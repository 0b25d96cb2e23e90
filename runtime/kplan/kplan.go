// Package kplan turns a compiler prefilter plan into the bpf package's
// tables, the form [bpf.Capture.SetTables] loads. It is the only place
// where the kernel-independent plan (compiler/prefilter) meets the kernel
// ABI (bpf). Functions here are pure and safe for concurrent use.
package kplan

import (
	"fmt"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/prefilter"
)

// ToTables converts a plan's tables. The result is validated against the
// kernel's limits ([bpf.Tables.Validate]); the error wraps
// [bpf.ErrInvalidTables].
func ToTables(p *prefilter.Plan) (*bpf.Tables, error) {
	if p == nil {
		return nil, fmt.Errorf("kernel tables: nil plan")
	}
	s := &p.Tables
	t := &bpf.Tables{
		Gate:             make(map[int]bpf.Mask, len(s.Gate)),
		DimsPerSyscall:   make(map[int]bpf.Dim, len(s.DimsPerSyscall)),
		Always:           make(map[int]bool, len(s.Always)),
		Captured:         make(map[int]bool, len(s.Captured)),
		Comm:             make(map[string]bpf.Mask, len(s.Comm)),
		CommDefault:      bpf.Mask(s.CommDefault),
		UID:              make(map[uint32]bpf.Mask, len(s.UID)),
		UIDDefault:       bpf.Mask(s.UIDDefault),
		ContainerHost:    bpf.Mask(s.ContainerHost),
		ContainerInside:  bpf.Mask(s.ContainerInside),
		ContainerUnknown: bpf.Mask(s.ContainerUnknown),
		PathExact:        make(map[string]bpf.Mask, len(s.PathExact)),
		PathPrefix:       make(map[string]bpf.Mask, len(s.PathPrefix)),
		PathDefault:      bpf.Mask(s.PathDefault),
		PathUnknown:      bpf.Mask(s.PathUnknown),
		Sock:             make(map[bpf.SockKey]bpf.Mask, len(s.Sock)),
		SockFamily:       make(map[uint16]bpf.Mask, len(s.SockFamily)),
		SockDefault:      bpf.Mask(s.SockDefault),
		SockUnknown:      bpf.Mask(s.SockUnknown),
		Ptrace:           make(map[uint32]bpf.Mask, len(s.Arg0)),
		PtraceDefault:    bpf.Mask(s.Arg0Default),
		ExeExact:         make(map[string]bpf.Mask, len(s.ExeExact)),
		ExePrefix:        make(map[string]bpf.Mask, len(s.ExePrefix)),
		ExeDefault:       bpf.Mask(s.ExeDefault),
		ExeUnknown:       bpf.Mask(s.ExeUnknown),
	}
	for id, m := range s.Gate {
		t.Gate[id] = bpf.Mask(m)
	}
	for id, d := range s.DimsPerSyscall {
		t.DimsPerSyscall[id] = bpf.Dim(d)
	}
	for id, ok := range s.Always {
		t.Always[id] = ok
	}
	for id, ok := range s.Captured {
		t.Captured[id] = ok
	}
	for k, m := range s.Comm {
		t.Comm[k] = bpf.Mask(m)
	}
	for k, m := range s.UID {
		t.UID[k] = bpf.Mask(m)
	}
	for i, m := range s.OpenFlags {
		t.OpenFlags[i] = bpf.Mask(m)
	}
	for k, m := range s.PathExact {
		t.PathExact[k] = bpf.Mask(m)
	}
	for k, m := range s.PathPrefix {
		t.PathPrefix[k] = bpf.Mask(m)
	}
	for k, m := range s.Arg0 {
		t.Ptrace[k] = bpf.Mask(m)
	}
	for k, m := range s.Sock {
		t.Sock[bpf.SockKey{Family: k.Family, Port: k.Port}] = bpf.Mask(m)
	}
	for f, m := range s.SockFamily {
		t.SockFamily[f] = bpf.Mask(m)
	}
	for k, m := range s.ExeExact {
		t.ExeExact[k] = bpf.Mask(m)
	}
	for k, m := range s.ExePrefix {
		t.ExePrefix[k] = bpf.Mask(m)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("kernel tables: %w", err)
	}
	return t, nil
}
