package syntax

import (
	"strings"
	"testing"
)

// benchCondition is a large condition in the style of the stable Falco
// rules after macro and list expansion: 70 checks and long lists.
var benchCondition = func() string {
	bins := make([]string, 0, 60)
	for _, b := range strings.Fields("apt apt-get dpkg rpm yum dnf zypper apk pip pip3 npm gem cargo go make cc gcc g++ ld as " +
		"bash sh dash zsh ksh csh tcsh fish busybox python python3 perl ruby node java php lua awk sed grep " +
		"curl wget nc ncat socat ssh scp sftp rsync tar gzip gunzip bzip2 xz unzip zip openssl gpg base64 xxd od") {
		bins = append(bins, b)
	}
	list := "(" + strings.Join(bins, ", ") + ")"
	checks := []string{
		"evt.type in (open, openat, openat2, creat)",
		"evt.is_open_write = true",
		"fd.typechar = 'f'",
		"fd.num >= 0",
		"not proc.name in " + list,
		"not proc.pname in " + list,
		"fd.name startswith /etc",
		"not fd.name pmatch (/etc/ld.so.cache, /etc/localtime, /etc/resolv.conf, /etc/hosts, /etc/passwd-, /etc/group-)",
		"proc.aname[2] != systemd",
		"tolower(proc.name) = val(proc.pname)",
		"proc.cmdline contains \"-c true\"",
		"container.id != host",
		"k8s.ns.name in (kube-system, kube-public, default)",
		"evt.arg.flags contains O_TRUNC",
		"user.uid > 0x3e8",
	}
	var parts []string
	for i := 0; len(parts) < 70; i++ {
		parts = append(parts, checks[i%len(checks)])
		if i%5 == 4 {
			parts[len(parts)-1] = "(" + parts[len(parts)-1] + " or proc.name startswith anyof (a, b, c))"
		}
	}
	return strings.Join(parts, " and\n    ")
}()

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCondition)))
	var e Expr
	var err error
	for b.Loop() {
		e, err = Parse(benchCondition, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	if n := len(e.(*And).Terms); n != 70 {
		b.Fatalf("parsed %d terms, want 70", n)
	}
}

func BenchmarkFormat(b *testing.B) {
	e, err := Parse(benchCondition, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var s string
	for b.Loop() {
		s = Format(e)
	}
	if len(s) == 0 {
		b.Fatal("empty output")
	}
}

// BenchmarkLex measures the lexer alone (stateful lexer, token split and
// depth check) on benchCondition.
func BenchmarkLex(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCondition)))
	var n int
	for b.Loop() {
		p := &parser{src: benchCondition, maxDepth: DefaultMaxDepth}
		if err := p.lex(); err != nil {
			b.Fatal(err)
		}
		n = len(p.toks)
	}
	if n < 1000 {
		b.Fatalf("lexed %d tokens, want at least 1000", n)
	}
}

// BenchmarkParseRuleFiles parses every condition of rules/*.yaml, the
// shape of work the rules loader does.
func BenchmarkParseRuleFiles(b *testing.B) {
	conds := ruleConditions(b)
	size := 0
	for _, c := range conds {
		size += len(c)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	var err error
	for b.Loop() {
		for _, c := range conds {
			if _, err = Parse(c, nil); err != nil {
				break
			}
		}
	}
	if err != nil {
		b.Fatal(err)
	}
}
