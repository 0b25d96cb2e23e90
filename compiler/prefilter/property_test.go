package prefilter

import (
	"fmt"
	"math/rand"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/compiler/check"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/syntax"
	"github.com/falcoc/falcoc/runtime/vm"
)

// The soundness property: whenever the VM says a rule is true for an
// event, the simulated kernel keeps a clause of that rule. Events are
// generated as a kernel view plus the userspace field values the runtime
// derives from it (see the mapping table in mapping.go), missing values
// included.

var testSyscalls = []int{0, 2, 42, 59, 83, 85, 257, 437}

var (
	commPool   = []string{"cat", "bash", "sshd", "find", "a-very-long-pro", "a-very-long-program", "", "x", "dpkg"}
	uidPool    = []uint64{0, 33, 1000, 65534}
	ctrPool    = []string{"host", "abc123", "def456", ""}
	pathPool   = []string{"/etc/shadow", "/etc/passwd", "/etc", "/etc/", "/etc/ssh/sshd_config", "/etcfoo", "/tmp/x", "/tmp", "/", "/dev/null", "/dev/shm/a", "/dev", "/dev/", "/usr/bin/ls", "/usr/bin", "/var/log/syslog", "/var/log/a/b.log", "/root/.ssh/id_rsa"}
	rawPaths   = append(append([]string{}, pathPool...), "etc/shadow", "x", "/etc//shadow", "/etc/./shadow", "/tmp/../etc/shadow", "/etc/..", "/etc/.", "./x", "/"+strings.Repeat("a", 260), "/usr/bin/", "/var/log/")
	pathValues = []string{"/etc", "/etc/", "/etc/shadow", "/dev", "/dev/shm/", "/usr/bin", "/", "/tmp/x", "/var/log", "/etcfoo", "etc", "", "/e", ".log", "/root/.ssh"}
	valuePool  = append(append([]string{}, pathPool...), "/etc/", "/dev/shm/", "/usr", "/var/log", "/root/.ssh", "", "/e", "etc", "cat", "bash", "sshd", "host", "abc123", "a-very-long-pro", "a-very-long-program", ".log", "sh")
)

type world struct {
	kv   KernelView
	vals map[string]vm.Value
}

func (w *world) set(name string, v vm.Value) { w.vals[name] = v }

func str(s string) vm.Value { return vm.Value{Kind: vm.KindString, S: s} }

func genWorld(r *rand.Rand) *world {
	w := &world{vals: map[string]vm.Value{}}
	sys := testSyscalls[r.Intn(len(testSyscalls))]
	name, _ := catalog.SyscallName(sys)
	w.kv.Syscall = sys
	w.set("evt.type", str(name))
	known := r.Intn(5) != 0 // the thread is in the state tables
	comm := commPool[r.Intn(len(commPool))]
	w.kv.Comm = comm
	if known {
		c := comm
		if len(c) > CommMax {
			c = c[:CommMax]
		}
		w.set("proc.name", str(c))
	}
	uid := uidPool[r.Intn(len(uidPool))]
	w.kv.EUID = uint32(uid)
	if known {
		w.set("user.uid", vm.Value{Kind: vm.KindUint, U: uid})
	}
	w.kv.Container = ContainerClass(r.Intn(3))
	var id string
	switch w.kv.Container {
	case ContainerHost:
		id = "host"
	case ContainerInside:
		id = ctrPool[1+r.Intn(2)]
	default:
		id = ctrPool[r.Intn(3)]
	}
	if known {
		w.set("container.id", str(id))
	}
	if r.Intn(2) == 0 {
		w.set("proc.pname", str(commPool[r.Intn(len(commPool))]))
	}
	// Open flags.
	flags := uint64(r.Intn(4))
	for _, b := range []uint64{oCreat, oTrunc, 0o20200000, 0o200000, 0o2000000} {
		if r.Intn(4) == 0 {
			flags |= b
		}
	}
	w.kv.OpenFlags = flags
	if sys == sysCreat {
		flags = oCreat | oWronly | oTrunc
	}
	if isOpenFamily(sys) {
		acc := flags & oAccMode
		w.set("evt.is_open_read", boolV(acc == 0 || acc == oRdwr))
		w.set("evt.is_open_write", boolV(acc == oWronly || acc == oRdwr))
	}
	// Path.
	raw := rawPaths[r.Intn(len(rawPaths))]
	if r.Intn(2) == 0 { // the paths the rules name, as the kernel may see them
		raw = pathValues[r.Intn(len(pathValues))]
		if raw == "" || r.Intn(3) == 0 {
			raw += "/"
		}
	}
	w.kv.Path = raw
	w.kv.PathUnreadable = r.Intn(15) == 0
	fdKnown := known && r.Intn(8) != 0
	if isOpenFamily(sys) {
		if fdKnown {
			n := raw
			if w.kv.PathUnreadable {
				n = ""
			} else {
				cwd := []string{"/home/u", "/etc", ""}[r.Intn(3)]
				if n[0] != '/' && cwd != "" {
					n = cwd + "/" + n
				}
				n = path.Clean(n)
			}
			dir := flags&0o200000 != 0
			w.set("fd.name", str(n))
			if dir {
				w.set("fd.directory", str(n))
				w.set("fd.typechar", str("d"))
			} else {
				w.set("fd.directory", str(dirOf(n)))
				w.set("fd.filename", str(n[strings.LastIndexByte(n, '/')+1:]))
				w.set("fd.typechar", str("f"))
			}
		}
	} else if r.Intn(2) == 0 {
		// Other syscalls: descriptor state unrelated to the kernel's view.
		n := pathPool[r.Intn(len(pathPool))]
		w.set("fd.name", str(n))
		w.set("fd.directory", str(dirOf(n)))
		w.set("fd.typechar", str("f"))
	}
	w.kv.Arg0 = uint64(r.Intn(20))
	return w
}

func boolV(b bool) vm.Value {
	v := vm.Value{Kind: vm.KindBool}
	if b {
		v.U = 1
	}
	return v
}

type fieldGen struct {
	name string
	ops  []syntax.Op
}

var fieldGens = []fieldGen{
	{"evt.type", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn}},
	{"proc.name", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith, syntax.OpContains, syntax.OpExists, syntax.OpLt, syntax.OpGe, syntax.OpRegex, syntax.OpGlob}},
	{"user.uid", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpLt, syntax.OpGe, syntax.OpExists}},
	{"container.id", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpExists}},
	{"evt.is_open_read", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"evt.is_open_write", []syntax.Op{syntax.OpEq, syntax.OpNe}},
	{"fd.name", []syntax.Op{syntax.OpEq, syntax.OpNe, syntax.OpIn, syntax.OpStartsWith, syntax.OpEndsWith, syntax.OpContains, syntax.OpPmatch, syntax.OpExists, syntax.OpGlob, syntax.OpGt}},
	{"fd.directory", []syntax.Op{syntax.OpEq, syntax.OpIn, syntax.OpStartsWith, syntax.OpPmatch, syntax.OpEndsWith, syntax.OpNe}},
	{"fd.filename", []syntax.Op{syntax.OpEq, syntax.OpIn}},
	{"fd.typechar", []syntax.Op{syntax.OpEq}},
	{"proc.pname", []syntax.Op{syntax.OpEq, syntax.OpIn}},
}

func operand(name string) *check.Operand {
	f, arg, hasArg, _ := catalog.Lookup(name)
	return &check.Operand{Kind: check.OperandField, Field: f, Name: name, Arg: arg, HasArg: hasArg, Index: -1, Type: f.Type}
}

func genValue(r *rand.Rand, field string, op syntax.Op) check.Value {
	switch field {
	case "user.uid":
		u := uidPool[r.Intn(len(uidPool))]
		if r.Intn(4) == 0 {
			u = uint64(r.Intn(2000))
		}
		return check.Value{Text: strconv.FormatUint(u, 10), Uint: u}
	case "evt.is_open_read", "evt.is_open_write":
		b := r.Intn(2) == 0
		return check.Value{Text: strconv.FormatBool(b), Bool: b}
	case "evt.type":
		n, _ := catalog.SyscallName(testSyscalls[r.Intn(len(testSyscalls))])
		return check.Value{Text: n}
	case "fd.typechar":
		return check.Value{Text: []string{"f", "d", "4"}[r.Intn(3)]}
	}
	var s string
	switch field {
	case "fd.name", "fd.directory", "fd.filename":
		s = pathValues[r.Intn(len(pathValues))]
	case "proc.name", "proc.pname":
		s = commPool[r.Intn(len(commPool))]
		if r.Intn(4) == 0 {
			s = valuePool[r.Intn(len(valuePool))]
		}
	case "container.id":
		s = ctrPool[r.Intn(len(ctrPool))]
	default:
		s = valuePool[r.Intn(len(valuePool))]
	}
	switch op {
	case syntax.OpRegex:
		s = []string{"c.t", "ba.*", "a-very-long-pro.*", ".*"}[r.Intn(4)]
		return check.Value{Text: s, Regex: "^(?:" + s + ")$"}
	case syntax.OpGlob:
		s = []string{"/etc/*", "*sh", "/tmp/?", "c*"}[r.Intn(4)]
	case syntax.OpPmatch:
		s = []string{"/etc", "/dev", "/", "/usr/bin/", "/var//log", "/etc/ssh", "/tm*", "etc"}[r.Intn(8)]
	}
	return check.Value{Text: s}
}

func genCmp(r *rand.Rand) *check.Cmp {
	g := fieldGens[r.Intn(len(fieldGens))]
	op := g.ops[r.Intn(len(g.ops))]
	c := &check.Cmp{Left: operand(g.name), Op: op}
	switch op {
	case syntax.OpExists:
	case syntax.OpIn, syntax.OpPmatch:
		for range 1 + r.Intn(4) {
			c.Values = append(c.Values, genValue(r, g.name, op))
		}
	default:
		c.Values = []check.Value{genValue(r, g.name, op)}
	}
	return c
}

func genExpr(r *rand.Rand, depth int) check.Expr {
	if depth <= 0 || r.Intn(3) == 0 {
		return genCmp(r)
	}
	switch r.Intn(4) {
	case 0:
		return &check.Not{X: genExpr(r, depth-1)}
	case 1:
		var ts []check.Expr
		for range 2 + r.Intn(3) {
			ts = append(ts, genExpr(r, depth-1))
		}
		return &check.Or{Terms: ts}
	default:
		var ts []check.Expr
		for range 2 + r.Intn(3) {
			ts = append(ts, genExpr(r, depth-1))
		}
		return &check.And{Terms: ts}
	}
}

type mapEnv struct {
	c    *vm.Consts
	vals map[string]vm.Value
}

func (e *mapEnv) Extract(id int, v *vm.Value) bool {
	x, ok := e.vals[e.c.Fields[id].String()]
	if ok {
		*v = x
	}
	return ok
}

// soundStats counts what the property test exercised, so that a test that
// checks nothing fails.
type soundStats struct{ matches, drops, narrowed int }

// checkSound plans the rules and checks every event against them.
func checkSound(t *testing.T, r *rand.Rand, exprs []check.Expr, opts *Options, events int) soundStats {
	t.Helper()
	var in []RuleInput
	for i, e := range exprs {
		in = append(in, RuleInput{Name: fmt.Sprintf("r%d", i), IR: e})
	}
	p, err := BuildRules(in, opts)
	if err != nil {
		t.Fatalf("BuildRules: %v", err)
	}
	g := codegen.New()
	progs := make([]*vm.Program, len(exprs))
	for i, e := range exprs {
		if progs[i], err = g.Condition(e); err != nil {
			t.Fatalf("codegen %s: %v", check.Format(e), err)
		}
	}
	m, err := vm.New(g.Consts())
	if err != nil {
		t.Fatal(err)
	}
	var st soundStats
	judger := NewJudger(p)
	for range events {
		w := genWorld(r)
		env := &mapEnv{c: g.Consts(), vals: w.vals}
		m.BeginEvent()
		mask := Judge(p, w.kv)
		if jm := judger.Judge(w.kv); jm != mask {
			t.Fatalf("Judger %v != Judge %v for %+v", jm, mask, w.kv)
		}
		if mask.IsZero() {
			st.drops++
		}
		if mask != p.Tables.Gate[w.kv.Syscall] {
			st.narrowed++
		}
		for i, prog := range progs {
			ok, err := m.Eval(prog, env)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !ok {
				continue
			}
			st.matches++
			kept := false
			for _, b := range p.Rules[i].Clauses {
				if mask.Has(b) {
					kept = true
				}
			}
			if !kept {
				var d strings.Builder
				_ = p.Describe(&d, nil)
				t.Fatalf("unsound: rule %s is true but the kernel drops it\ncondition: %s\nkernel view: %+v\nvalues: %v\nmask: %v\n%s",
					p.Rules[i].Name, check.Format(exprs[i]), w.kv, w.vals, mask.Bits(), d.String())
			}
		}
	}
	return st
}

func TestSoundnessProperty(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	n := 3000
	if testing.Short() {
		n = 200
	}
	var total soundStats
	for i := range n {
		var exprs []check.Expr
		for range 1 + r.Intn(3) {
			exprs = append(exprs, genExpr(r, 3))
		}
		opts := &Options{Syscalls: testSyscalls}
		if i%4 == 0 {
			opts.MaxClausesPerRule = 1 + r.Intn(2)
		}
		st := checkSound(t, r, exprs, opts, 40)
		total.matches += st.matches
		total.drops += st.drops
		total.narrowed += st.narrowed
	}
	t.Logf("events: %d, rule matches: %d, dropped by the kernel: %d, narrowed beyond the gate: %d", n*40, total.matches, total.drops, total.narrowed)
	// The generator must produce both matches and kernel drops beyond the
	// gate, or the property checks nothing.
	if total.matches < n || total.narrowed < n {
		t.Errorf("weak test: %d matches and %d narrowed events for %d plans", total.matches, total.narrowed, n)
	}
}

// TestSoundnessMaskOverflow plans more clauses than the mask holds, so
// clauses are merged within and across rules.
func TestSoundnessMaskOverflow(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for range 5 {
		var exprs []check.Expr
		for range 120 {
			exprs = append(exprs, &check.Or{Terms: []check.Expr{genExpr(r, 2), genExpr(r, 2), genExpr(r, 2)}})
		}
		checkSound(t, r, exprs, &Options{Syscalls: testSyscalls}, 300)
	}
}

func FuzzSoundness(f *testing.F) {
	for _, s := range []int64{1, 2, 3, 42} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed int64) {
		r := rand.New(rand.NewSource(seed))
		exprs := []check.Expr{genExpr(r, 4), genExpr(r, 3)}
		checkSound(t, r, exprs, &Options{Syscalls: testSyscalls, MaxClausesPerRule: 1 + r.Intn(8)}, 60)
	})
}
