package check

import (
	"fmt"
	"testing"

	"github.com/falcoc/falcoc/compiler/syntax"
)

// largeCondition builds a condition shaped like a big stable rule after
// macro expansion: 80 comparisons over strings, numbers, addresses and
// transformers, with 40-item lists, nested and/or/not.
func largeCondition() syntax.Expr {
	items := make([]string, 40)
	for i := range items {
		items[i] = fmt.Sprintf("/usr/lib/pkg%d", i)
	}
	var groups []syntax.Expr
	for g := 0; g < 10; g++ {
		off := g * 100
		groups = append(groups, and(
			evt("open", "openat", "openat2", "execve"),
			cmpx(fld(off, "fd.name"), syntax.OpStartsWith, lit(off+20, "/etc")),
			not(cmpx(fld(off, "proc.name"), syntax.OpIn, list(off+30, items...))),
			or(
				cmpx(fld(off, "user.uid"), syntax.OpLt, lit(off+40, "1000")),
				cmpx(fld(off, "fd.net"), syntax.OpIn, list(off+50, "10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12")),
				cmpx(tr(off, "tolower", fld(off+8, "proc.pname")), syntax.OpEq, val(off+60, fld(off+64, "proc.name"))),
			),
			cmpx(fldArg(off, "proc.aname", "2"), syntax.OpPmatch, list(off+70, items...)),
			cmpx(fld(off, "proc.cmdline"), syntax.OpRegex, qlit(off+80, "curl .*-o /tmp/[a-z]+")),
		))
	}
	return or(groups...)
}

func BenchmarkCheck(b *testing.B) {
	e := largeCondition()
	b.ReportAllocs()
	for b.Loop() {
		c, _ := CheckCondition(e, nil)
		if c == nil {
			b.Fatal("check failed")
		}
	}
	c, issues := CheckCondition(e, nil)
	if c == nil || len(issues) != 0 || len(c.EventTypes) != 4 {
		b.Fatalf("unexpected result: %v %v", issues, c.EventTypes)
	}
}

func BenchmarkCheckOutput(b *testing.B) {
	const format = "File below /etc opened (user=%user.name command=%proc.cmdline pid=%proc.pid file=%fd.name parent=%proc.pname gparent=%proc.aname[2] %toupper(proc.name) flags=%evt.arg.flags container=%container.id)"
	b.ReportAllocs()
	for b.Loop() {
		if t, _ := CheckOutput(format, nil); t == nil {
			b.Fatal("check failed")
		}
	}
}
