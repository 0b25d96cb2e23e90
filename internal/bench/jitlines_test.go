package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAttribute(t *testing.T) {
	jit := "ffffffffc0000100 on_sys_exit capture.c:10 a = 1;\n" +
		"ffffffffc0000110 on_sys_exit capture.c:11 b = helper();\n" +
		"ffffffffc0000120 on_sys_exit capture.c:12 return 0;\n"
	lines, err := ReadJitLines(strings.NewReader(jit))
	if err != nil {
		t.Fatal(err)
	}
	// Four samples: in the program at line 10; in a helper called from
	// line 11 (the return address is the next line's first byte); in
	// the hook outside any program; and one not under the hook.
	perf := `
	ffffffffc0000104 bpf_prog_abc_on_sys_exit
	ffffffff81000000 bpf_trace_run2
	ffffffff81000100 do_syscall_64

	ffffffff81500000 strncpy_from_user
	ffffffffc0000120 bpf_prog_abc_on_sys_exit
	ffffffff81000000 bpf_trace_run2

	ffffffff81000010 bpf_trace_run2
	ffffffff81000100 do_syscall_64

	ffffffff81200000 path_openat
	ffffffff81000100 do_syscall_64
`
	a, err := Attribute(strings.NewReader(perf), lines)
	if err != nil {
		t.Fatal(err)
	}
	want := &Attribution{Samples: 4, Hook: 3, Lines: []LineShare{
		{"(hook: bpf_trace_run2)", 1, 25},
		{"capture.c:10 a = 1;", 1, 25},
		{"capture.c:11 b = helper();", 1, 25},
	}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("attribution (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := a.Write(&b, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "samples 4, under the BPF hook 3 (75.0%)\n") {
		t.Errorf("table:\n%s", b.String())
	}
}
