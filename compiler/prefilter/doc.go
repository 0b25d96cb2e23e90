// Package prefilter plans the kernel prefilter: for every enabled syscall
// rule it decides, with only what the kernel can see, when the rule can
// still be true, and turns that into the tables the fixed eBPF program
// consults (gate per syscall, then one lookup per dimension, ANDed).
//
// # Partial evaluation
//
// A rule's condition is evaluated once per syscall it may match. Every
// comparison becomes one of:
//
//   - a constant, when the syscall alone decides it (evt.type);
//   - a kernel atom over one dimension (comm, euid, container class, open
//     flags class, path, first argument (ptrace request, socket domain),
//     socket family and port, exec'd program's path), whose outcome is
//     computed per region of that dimension (a table key, the default
//     entry, or "unknown");
//   - a result atom (evt.res = SUCCESS and the like) on connect, bind and
//     exec: userspace decides it, and the socket and exe dimensions trust
//     the kernel's value only in a conjunction that has one, because a
//     failed call leaves userspace with the previous state;
//   - opaque, when the kernel cannot see the field: it may be true or
//     false, and is dropped (widened to true) wherever it appears.
//
// The result is put in disjunctive normal form: each conjunction is a
// kernel clause with its own bit in the mask (per syscall; the mask is
// 256 bits wide, or wider, up to 2048, when the clauses need it: see
// fit.go). A clause's bit is set
// in a table entry when the clause can be true for some event that the
// entry matches. The kernel passes an event when gate & dim1 & dim2 ... is
// not zero.
//
// # Soundness
//
// The kernel may drop an event only when every rule is false for it. The
// planner keeps that promise by over-approximating at each step:
//
//   - Falco's missing-value rule: a comparison on a field with no value is
//     false, so `not <cmp>` is true. Every kernel-mapped field may be
//     missing in userspace (the thread or descriptor can be unknown to the
//     state tables), so every atom can be false in every region. The
//     fields of one record (the thread's; the open family's descriptor's)
//     are missing together, so a condition is planned once with each such
//     group missing (its comparisons false) and once with it present (a
//     negated atom judged per region), the two or-ed (groups.go). A
//     negation narrows only where the same conjunction also needs the
//     group present; a field outside the groups never narrows a negation.
//   - A region where an atom's value cannot be decided counts as "true or
//     false".
//   - Too many clauses for a rule, or more than 256 clauses on one
//     syscall, are merged: a merged clause is true wherever one of its
//     parts is. Mask bits are numbered per syscall (clauses that share no
//     syscall may share a bit; a bit is set in a dimension's entries for
//     every clause with that bit possible there), and to fit, clauses of
//     one kind (same syscalls, same dimensions) are folded, per dimension
//     the union of their alternatives (fit.go).
//   - Facts the kernel cannot trust (a relative or unnormalised path, a
//     path longer than [plan.PathMax], an unknown cgroup, an unreadable socket
//     address) use the Unknown entry, which holds every clause.
//   - Clauses that differ in one dimension only are merged exactly
//     ((A and B1) or (A and B2) is A and (B1 or B2)), and a dimension a
//     clause is possible in everywhere is not looked up.
//
// The field mapping, and what each mapping assumes about the runtime, is
// listed in mapping.go. [plan.Judge] simulates the kernel program on a
// [plan.KernelView]; the property test checks that whenever the VM says a
// rule is true, Judge keeps a bit of that rule.
//
// The planner's output is a [plan.Plan] (compiler/plan): a plain value,
// deterministic for a given input, safe for concurrent reads, stored in
// the artifact by its codec. [Build] and [BuildFolded] are called by the
// compile driver (compiler.Compile); [BuildRules] plans conditions given
// directly (tests).
package prefilter
