// Package dump prints a trace's events one line each (falco-run --dump).
// It is its own package because it extracts fields (runtime/extract),
// whose tests replay traces through runtime/replay.
package dump

import (
	"bufio"
	"context"
	"io"
	"strconv"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// Format is the line [Dump] prints per event: sysdig's and Falco's
// default event line (-p's fields).
const Format = "%evt.num %evt.time %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.args"

var dumpFields = []vm.FieldRef{
	{Name: "evt.num", Index: -1}, {Name: "evt.time", Index: -1}, {Name: "evt.cpu", Index: -1},
	{Name: "proc.name", Index: -1}, {Name: "thread.tid", Index: -1}, {Name: "evt.dir", Index: -1},
	{Name: "evt.type", Index: -1}, {Name: "evt.args", Index: -1},
}

// Dump prints every event of src, one line each in [Format], with the
// state (processes, descriptors, the trace's users) kept as a replay
// keeps it, so that fd numbers resolve to names and proc.name is right.
// It returns the number of events printed.
func Dump(ctx context.Context, w io.Writer, src replay.Source) (int, error) {
	table := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	deps := extract.Deps{Table: table}
	if us, gs, ok := src.Users(); ok {
		deps.Users = state.NewUsers(nil)
		deps.Users.SetStatic(us, gs)
	}
	env, err := extract.New(dumpFields, deps)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var ev event.Event
	var v vm.Value
	var line []byte
	n := 0
	for {
		err := src.Next(ctx, &ev, table)
		if err == io.EOF {
			return n, bw.Flush()
		}
		if err != nil {
			return n, err
		}
		n++
		if ev.Num == 0 {
			ev.Num = uint64(n)
		}
		state.ApplyBefore(table, &ev)
		env.Reset(&ev)
		line = line[:0]
		for i := range dumpFields {
			if i > 0 {
				line = append(line, ' ')
			}
			if i == 4 {
				line = append(line, '(')
			}
			v = vm.Value{}
			if env.Extract(i, &v) {
				line = appendValue(line, &v)
			} else {
				line = append(line, "<NA>"...)
			}
			if i == 4 {
				line = append(line, ')')
			}
		}
		for i, c := range line {
			if c == '\n' || c == '\r' {
				line[i] = '.' // one event, one line
			}
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return n, err
		}
		state.ApplyAfter(table, &ev)
	}
}

func appendValue(dst []byte, v *vm.Value) []byte {
	switch v.Kind {
	case vm.KindString:
		return append(dst, v.S...)
	case vm.KindBytes:
		return append(dst, v.B...)
	case vm.KindInt:
		return strconv.AppendInt(dst, v.I, 10)
	case vm.KindUint, vm.KindBool:
		return strconv.AppendUint(dst, v.U, 10)
	case vm.KindAddr:
		return v.A.AppendTo(dst)
	}
	return append(dst, "<NA>"...)
}
