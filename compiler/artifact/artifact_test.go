package artifact_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/runtime/vm"
)

// sample builds an artifact by hand that uses every constant table.
func sample() *artifact.Artifact {
	c := &vm.Consts{
		Fields: []vm.FieldRef{{Name: "proc.name", Index: -1}, {Name: "proc.aname", Arg: "2", HasArg: true, Index: 2}},
		Operands: []vm.Operand{
			{Kind: vm.OperandField, Field: 0},
			{Kind: vm.OperandField, Field: 1},
			{Kind: vm.OperandConst, Const: ","},
			{Kind: vm.OperandTransform, Transform: vm.TransformGetopt, Args: []int32{0, 2}, TransformArg: "c", HasTransformArg: true},
		},
		Strings:     []string{"bash", ""},
		Bytes:       [][]byte{{0xca, 0xfe}},
		Ints:        []int64{-5, 1 << 40},
		Uints:       []uint64{22, 1<<64 - 1},
		Floats:      []float64{1.5},
		Addrs:       []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1")},
		Nets:        []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		StrSets:     [][]string{{"a", "b"}},
		IntSets:     [][]int64{{-1, 2}},
		UintSets:    [][]uint64{{80, 443}},
		AddrSets:    [][]netip.Addr{{netip.MustParseAddr("fe80::1")}},
		NetSets:     [][]netip.Prefix{{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::/8")}},
		Globs:       []string{"/usr/*"},
		Regexes:     []string{"^(?:a+)$"},
		PrefixTrees: [][]string{{"/etc", "/home/*/.ssh"}},
		Dyns:        []vm.Dyn{{Op: vm.CmpEq, Text: "-1", Int: -1, IsInt: true}},
		Mods:        []vm.Mod{{Op: vm.OpStartsWithStr, Args: []int32{0, 1}}},
	}
	p := &vm.Program{
		Code:   []vm.Opcode{vm.OpLoad, vm.OpEqStr, vm.OpJumpIfFalse, vm.OpLoad, vm.OpAnyOf, vm.OpReturn},
		Args:   []int32{0, 0, 2, 1, 0, 0},
		Locs:   []vm.Location{{Line: 1, Column: 1}, {Line: 1, Column: 11}, {Line: 1, Column: 1}, {Origin: 3, Line: 2, Column: 5}, {Line: 2, Column: 9}, {Line: 1, Column: 1}},
		Consts: c,
	}
	return &artifact.Artifact{
		CompilerVersion: "falcoc test",
		EngineVersion:   artifact.EngineVersion,
		Consts:          c,
		Rules: []artifact.Rule{
			{
				Name: "Shell", Desc: "a shell", Priority: 4, Source: "syscall", Tags: []string{"a", "b"}, Enabled: true,
				Output: "%proc.name ran", Template: vm.Template{Format: "%proc.name ran", Segments: []vm.Segment{
					{Operand: 0, Token: "proc.name", Width: 3}, {Text: " ran", Operand: -1}}},
				Condition: "proc.name = bash", Compiled: "proc.name = bash", EventTypes: []string{"execve"}, Program: p,
				File: "rules/x.yaml", Line: 12,
			},
			{Name: "All", Source: "syscall", Program: p, EventTypes: nil},
			{Name: "None", Source: "syscall", Program: p, EventTypes: []string{}},
		},
		Syscalls: []string{"execve", "openat"},
		Plan: &plan.Plan{
			Rules:   []plan.RulePlan{{Name: "Shell", Clauses: []int{0}, Syscalls: []int{59}, Kernel: []string{"clause 0 on execve: comm[bash]"}}},
			Clauses: []plan.Clause{{Rules: []int{0}, Syscalls: []int{59}, Text: "comm[bash]"}},
			Notes:   []string{"a note"},
			Tables: plan.Tables{
				Gate:           map[int]plan.Mask{59: plan.Mask{}.With(0)},
				DimsPerSyscall: map[int]plan.Dim{59: plan.DimComm | plan.DimExe},
				Always:         map[int]bool{56: true},
				Captured:       map[int]bool{59: true},
				Comm:           map[string]plan.Mask{"bash": plan.Mask{}.With(0)},
				UID:            map[uint32]plan.Mask{0: {1}},
				OpenFlags:      [16]plan.Mask{3: {^uint64(0), 0, 0, 1 << 63}},
				PathExact:      map[string]plan.Mask{"/etc/shadow": {2}},
				PathPrefix:     map[string]plan.Mask{"/etc/": {4}},
				Sock:           map[plan.SockKey]plan.Mask{{Family: 2, Port: 443}: {8}},
				SockFamily:     map[uint16]plan.Mask{10: {16}},
				Arg0:           map[uint32]plan.Mask{16: {32}},
				ExeExact:       map[string]plan.Mask{"/bin/sh": {64}},
				ExePrefix:      map[string]plan.Mask{"/tmp/": {128}},
				ExeUnknown:     plan.Mask{}.With(255),
			},
		},
	}
}

func encode(t testing.TB, a *artifact.Artifact) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := artifact.Write(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreUnexported(vm.Consts{}),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	// Programs point back to the pool; compare their own arrays.
	cmp.Transformer("program", func(p *vm.Program) [3]any {
		if p == nil {
			return [3]any{}
		}
		return [3]any{p.Code, p.Args, p.Locs}
	}),
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	data := encode(t, want)
	got, err := artifact.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.Rules[1].EventTypes != nil || got.Rules[2].EventTypes == nil {
		t.Errorf("nil and empty event-type sets not preserved: %#v, %#v", got.Rules[1].EventTypes, got.Rules[2].EventTypes)
	}
	// The decoded program runs.
	m, err := vm.New(got.Consts)
	if err != nil {
		t.Fatal(err)
	}
	m.BeginEvent()
	ok, err := m.Eval(got.Rules[0].Program, envFunc(func(id int, v *vm.Value) bool {
		*v = vm.Value{Kind: vm.KindString, S: "bash"}
		return true
	}))
	if err != nil || !ok {
		t.Errorf("Eval = %v, %v; want true", ok, err)
	}
	if again := encode(t, got); !bytes.Equal(again, data) {
		t.Error("re-encoding the decoded artifact gives different bytes")
	}
}

type envFunc func(int, *vm.Value) bool

func (f envFunc) Extract(id int, v *vm.Value) bool { return f(id, v) }

func TestDeterministic(t *testing.T) {
	a, b := encode(t, sample()), encode(t, sample())
	if !bytes.Equal(a, b) {
		t.Error("two encodings of the same artifact differ")
	}
}

func TestEngineVersionMatchesRules(t *testing.T) {
	if artifact.EngineVersion != rules.EngineVersion {
		t.Errorf("artifact.EngineVersion %q != rules.EngineVersion %q", artifact.EngineVersion, rules.EngineVersion)
	}
}

// sealRaw returns a file of good's header with raw as its body's raw
// encoding: compressed, and the header's length and checksum updated, as
// a hostile writer would make it.
func sealRaw(good, raw []byte) []byte {
	body, err := artifact.Compress(raw)
	if err != nil {
		panic(err)
	}
	return reseal(append(bytes.Clone(good[:artifact.HeaderSize]), body...))
}

// rawOf returns the raw encoding of a file's body.
func rawOf(t testing.TB, data []byte) []byte {
	raw, err := artifact.Decompress(data[artifact.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// reseal recomputes the header of a file whose body was changed.
func reseal(data []byte) []byte {
	out := bytes.Clone(data)
	body := out[artifact.HeaderSize:]
	binary.LittleEndian.PutUint64(out[8:], uint64(len(body)))
	sum := sha256.Sum256(body)
	copy(out[16:48], sum[:])
	return out
}

func TestErrors(t *testing.T) {
	good := encode(t, sample())
	withVersion := func(v uint16) []byte {
		d := bytes.Clone(good)
		binary.LittleEndian.PutUint16(d[4:], v)
		return d
	}
	other := sample()
	other.EngineVersion = "0.1.0"
	cases := []struct {
		name     string
		data     []byte
		sentinel error
		want     string
	}{
		{"empty", nil, artifact.ErrTruncated, "read artifact: truncated artifact: 0 bytes, the header has 48"},
		{"magic", []byte("ELF\x7f and more bytes"), artifact.ErrMagic, "read artifact: not a falcoc artifact (bad magic)"},
		{"short header", good[:20], artifact.ErrTruncated, "read artifact: truncated artifact: 20 bytes, the header has 48"},
		{"version", withVersion(9), artifact.ErrVersion, "read artifact: unsupported artifact version: format version 9, this falcoc reads version 7"},
		{"truncated body", good[:len(good)-1], artifact.ErrTruncated,
			"read artifact: truncated artifact: body has " + strconv.Itoa(len(good)-49) + " bytes, header says " + strconv.Itoa(len(good)-48)},
		{"trailing", append(bytes.Clone(good), 0), artifact.ErrMalformed, "read artifact: malformed artifact: 1 bytes after the body"},
		{"checksum", func() []byte { d := bytes.Clone(good); d[len(d)-1] ^= 1; return d }(), artifact.ErrChecksum,
			"read artifact: artifact checksum mismatch"},
		{"engine", encode(t, other), artifact.ErrVersion,
			`read artifact: unsupported artifact version: built for engine version "0.1.0", this falcoc runs "0.62.0"`},
		{"hostile count", sealRaw(good, []byte{0, 6, '0', '.', '6', '2', '.', '0', 0xff, 0xff, 0x03}),
			artifact.ErrMalformed, "read artifact: fields at body offset 11: malformed artifact: count 65535 exceeds the 0 bytes left"},
		{"length beyond the bound", reseal(append(bytes.Clone(good[:artifact.HeaderSize]), 0x80, 0x80, 0x80, 0x80, 0x08)),
			artifact.ErrMalformed, "read artifact: malformed artifact: the body says 2147483648 bytes decompressed, more than 1073741824"},
		{"length beyond deflate's ratio", reseal(append(bytes.Clone(good[:artifact.HeaderSize]), 0x80, 0x80, 0x80, 0x01, 1, 2, 3)),
			artifact.ErrMalformed, "read artifact: malformed artifact: the body says 2097152 bytes decompressed from 3"},
		{"length not a varint", reseal(append(bytes.Clone(good[:artifact.HeaderSize]), 0x80)),
			artifact.ErrMalformed, "read artifact: malformed artifact: the body's length does not decode"},
		{"longer than stated", func() []byte {
			d := sealRaw(good, make([]byte, 100))
			body := d[artifact.HeaderSize:]
			body[0] = 99 // one byte of 100 in the stream is left over
			return reseal(d)
		}(), artifact.ErrMalformed, "read artifact: malformed artifact: the body decompresses to more than the 99 bytes it states"},
		{"shorter than stated", func() []byte {
			d := sealRaw(good, make([]byte, 100))
			d[artifact.HeaderSize] = 101
			return reseal(d)
		}(), artifact.ErrMalformed, "read artifact: malformed artifact: the body does not decompress to the 101 bytes it states: unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := artifact.Read(tc.data)
			if err == nil {
				t.Fatalf("Read: nil error, artifact %v", a)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %q", err, tc.sentinel)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryTruncation reads every prefix of a valid file: each is an
// error, none panics.
func TestEveryTruncation(t *testing.T) {
	good := encode(t, sample())
	for n := range len(good) {
		if _, err := artifact.Read(good[:n]); err == nil {
			t.Fatalf("prefix of %d bytes: nil error", n)
		} else if !errors.Is(err, artifact.ErrTruncated) {
			t.Fatalf("prefix of %d bytes: %v, want ErrTruncated", n, err)
		}
	}
}

// TestFlippedBytes flips every byte of the file: the header checks or the
// checksum catch each flip. Then it flips every body byte and re-seals the
// checksum, as a hostile writer would: decoding must fail or succeed
// cleanly, never panic, and a successful result must re-encode.
func TestFlippedBytes(t *testing.T) {
	good := encode(t, sample())
	for i := range good {
		d := bytes.Clone(good)
		d[i] ^= 0xff
		if _, err := artifact.Read(d); err == nil {
			t.Errorf("flipped byte %d: nil error", i)
		}
	}
	// The stored (compressed) body: every flip is refused or decodes.
	for i := artifact.HeaderSize; i < len(good); i++ {
		d := bytes.Clone(good)
		d[i] ^= 0x55
		if a, err := artifact.Read(reseal(d)); err == nil {
			if _, err := encodeErr(a); err != nil {
				t.Errorf("stored byte %d ^ 0x55 decoded but does not re-encode: %v", i, err)
			}
		}
	}
	raw := rawOf(t, good)
	for i := range raw {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(raw)
			d[i] ^= x
			a, err := artifact.Read(sealRaw(good, d))
			if err != nil {
				continue
			}
			if _, err := encodeErr(a); err != nil {
				t.Errorf("byte %d ^ %#x decoded but does not re-encode: %v", i, x, err)
			}
		}
	}
}

func encodeErr(a *artifact.Artifact) ([]byte, error) {
	var b bytes.Buffer
	err := artifact.Write(&b, a)
	return b.Bytes(), err
}

func TestWriteErrors(t *testing.T) {
	var b bytes.Buffer
	err := artifact.Write(&b, &artifact.Artifact{})
	if diff := cmp.Diff("write artifact: no constant pool", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	err = artifact.Write(&b, &artifact.Artifact{Consts: &vm.Consts{}, Rules: []artifact.Rule{{Name: "r"}}})
	if diff := cmp.Diff(`write artifact: rule "r" has no program`, errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func FuzzArtifactRead(f *testing.F) {
	good := encode(f, sample())
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte("FBC1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Feed both the raw input and the input re-sealed as a body, so the
		// fuzzer gets past the checksum.
		for _, d := range [][]byte{data, reseal(append(bytes.Clone(good[:artifact.HeaderSize]), data...)), sealRaw(good, data)} {
			a, err := artifact.Read(d)
			if (a == nil) == (err == nil) {
				t.Fatalf("Read: artifact %v and error %v", a, err)
			}
			if a != nil {
				if _, err := encodeErr(a); err != nil {
					t.Fatalf("decoded artifact does not encode: %v", err)
				}
			}
		}
	})
}
