// Package event is the decoded event every source hands to the engine: a
// syscall (or tracepoint, or metaevent) exit event with its parameters
// laid out as the catalog's event table says ([catalog.Event.Params]).
//
// An [Event] is reused from one event to the next: a decoder calls
// [Event.Reset] and fills it again, so steady-state decoding allocates
// nothing beyond what a source needs for its own strings.
//
// The package also holds:
//   - Falco's text rendering of parameters (what evt.arg.NAME and evt.args
//     print), see [Event.AppendArg] and [Event.AppendArgs], with tables of
//     flag values ([FlagNames], [ParseFlags], [FlagSet]);
//   - a trace's process context ([ProcContext]).
//
// The state updates an event implies are runtime/state's (ApplyBefore,
// ApplyAfter, ApplyProc); the replay format (one JSON object per line) is
// read and written by runtime/replay.
//
// Nothing here is safe for concurrent use: one goroutine owns an Event.
package event
