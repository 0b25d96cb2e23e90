// Package plan is the kernel prefilter as data: the clause mask ([Mask]),
// the tables the fixed eBPF program consults ([Tables]: a gate per
// syscall, then one lookup per dimension, ANDed), which rules each clause
// belongs to ([Plan]), a simulator of the kernel program ([Judge],
// [Judger]) and a readable account ([Plan.Describe]).
//
// The planner (compiler/prefilter) produces a Plan; the artifact stores it
// as a typed section (compiler/artifact); bpf loads its Tables into the
// kernel's maps as they are (bpf.Tables is this package's Tables); the
// runtime gives each rule its clause bits ([Plan.RuleMasks]) and applies
// the same judgement in userspace to replays (runtime/kplan). So there is
// one plan type from planner to kernel.
//
// Mask bits are numbered per syscall ([Clause.Bit]): a bit means one
// clause on a given syscall, possibly another clause on another syscall.
// The kernel's maps are sized from the tables at load ([Capacity],
// [ForLoad]); [Tables.WithoutDims] makes tables fit smaller maps soundly.
//
// The package depends on the standard library and the field catalog only
// (internal/archtest checks it), so the runtime and the bpf loader can
// read plans without linking the rule compiler. Plans are plain values:
// deterministic for a given rule set, safe for concurrent reads once
// built.
package plan
