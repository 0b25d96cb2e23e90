// Package vm evaluates compiled rule conditions.
//
// A rule's condition is a [Program]: bytecode ([Program.Code]) with one
// argument and one source location per instruction ([Program.Args],
// [Program.Locs]), and a pointer to a [Consts] pool of constants, operands
// and field references shared by every rule of an artifact. Programs are
// immutable once [Consts.Prepare] has run and are safe for concurrent use.
//
// A [VM] evaluates programs for one event at a time. Call [VM.BeginEvent]
// when a new event starts, then [VM.Eval] for each candidate rule: each
// field (and each transformer result) is extracted at most once per event,
// whatever the number of rules that read it. A VM is not safe for
// concurrent use; each worker owns one. Evaluation allocates nothing.
//
// The machine has a boolean accumulator and two value registers (the
// left-hand operand and, for field-to-field comparisons, the right-hand
// one). A comparison on an operand that has no value for the event is
// false, whatever the operator, as in Falco.
package vm
