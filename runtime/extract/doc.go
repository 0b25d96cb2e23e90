// Package extract implements the field extractors: one per catalog field
// of the "syscall" source, reading the current [event.Event] and the
// process, descriptor, user and container state. An [Env] implements
// [vm.Env] for the VM and is what output formatting reads too.
//
// Lifecycle: [New] resolves every [vm.FieldRef] of a program once to an
// extractor (a bad argument is an error then, never at run time); for
// every event the engine calls [Env.Reset] after [state.ApplyBefore], then
// the VM calls [Env.Extract]. Values handed out are borrowed: strings are
// immutable, but the backing arrays of lists and byte buffers are reused
// by the next event.
//
// Missing means missing: Extract returns false when the event has no
// thread, no descriptor, or the field does not apply to the event type,
// and the VM then makes every comparison false (Falco's rule).
//
// An Env is not safe for concurrent use; each engine worker owns one.
package extract
