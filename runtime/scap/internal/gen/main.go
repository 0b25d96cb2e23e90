// Command gen writes runtime/scap's event table (ppme_table.go): for every
// libscap event code, its name, direction, flags and parameters (name and
// type), and the PPM values of the flag names the parameters use. The
// facts come from falcosecurity/libs' driver/event_table.c,
// driver/flags_table.c and driver/ppm_events_public.h, read from a git
// checkout or mirror of libs (-libs, default the project's mirror).
//
// It is run by `go generate` in runtime/scap. When the input is missing,
// it says so and leaves the committed table alone.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	libs := flag.String("libs", "/work/.mirror/falcosecurity+libs/repo", "git directory of falcosecurity/libs")
	rev := flag.String("rev", "HEAD", "revision of libs to read")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if err := run(*libs, *rev, *out); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "scap gen: %v; keeping the committed table\n", err)
			return
		}
		fmt.Fprintf(os.Stderr, "scap gen: %v\n", err)
		os.Exit(1)
	}
}

func gitShow(dir, rev, path string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	out, err := exec.Command("git", "-C", dir, "show", rev+":"+path).Output()
	if err != nil {
		return "", fmt.Errorf("git show %s:%s: %w", rev, path, err)
	}
	return string(out), nil
}

var commentRE = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)

func stripComments(s string) string {
	s = commentRE.ReplaceAllString(s, " ")
	return strings.ReplaceAll(s, "\\\n", " ")
}

func run(libs, rev, out string) error {
	hdr, err := gitShow(libs, rev, "driver/ppm_events_public.h")
	if err != nil {
		return err
	}
	table, err := gitShow(libs, rev, "driver/event_table.c")
	if err != nil {
		return err
	}
	flagsSrc, err := gitShow(libs, rev, "driver/flags_table.c")
	if err != nil {
		return err
	}
	commit, _ := exec.Command("git", "-C", libs, "rev-parse", rev).Output()
	syms := symbols(stripComments(hdr))
	ev := newEval(syms)
	flagTables, err := parseFlagTables(stripComments(flagsSrc), ev)
	if err != nil {
		return err
	}
	events, max, err := parseEvents(stripComments(table), ev)
	if err != nil {
		return err
	}
	scRE := regexp.MustCompile(`PPM_SC_X\(([A-Z0-9_]+),\s*([0-9]+)\)`)
	sc := map[int]string{}
	for _, m := range scRE.FindAllStringSubmatch(hdr, -1) {
		n, _ := strconv.Atoi(m[2])
		sc[n] = strings.ToLower(m[1])
	}
	src, err := render(events, max, flagTables, sc, strings.TrimSpace(string(commit)))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "ppme_table.go"), src, 0o644)
}

// symbols collects #define NAME value and enum NAME = value entries.
func symbols(src string) map[string]string {
	m := map[string]string{}
	defRE := regexp.MustCompile(`(?m)^\s*#define\s+([A-Za-z_][A-Za-z0-9_]*)[ \t]+([^\n]+)$`)
	for _, s := range defRE.FindAllStringSubmatch(src, -1) {
		m[s[1]] = strings.TrimSpace(s[2])
	}
	enumRE := regexp.MustCompile(`(?m)^\s*([A-Z][A-Za-z0-9_]*)\s*=\s*([^,\n]+),?\s*$`)
	for _, s := range enumRE.FindAllStringSubmatch(src, -1) {
		if _, ok := m[s[1]]; !ok {
			m[s[1]] = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s[2]), ","))
		}
	}
	// Enums with implicit values: PT_* and PF_* are explicit in the
	// header; the rest we use are explicit too.
	return m
}

type eval struct {
	syms map[string]string
	memo map[string]uint64
}

func newEval(syms map[string]string) *eval { return &eval{syms: syms, memo: map[string]uint64{}} }

// value evaluates a C constant expression of numbers, names, |, <<, +,
// ~, casts to integer types, and parentheses.
func (e *eval) value(expr string) (uint64, error) {
	toks := tokenize(expr)
	p := &parser{toks: toks, e: e}
	v, err := p.or()
	if err != nil {
		return 0, fmt.Errorf("%q: %w", expr, err)
	}
	if p.i != len(p.toks) {
		return 0, fmt.Errorf("%q: trailing %q", expr, p.toks[p.i:])
	}
	return v, nil
}

func (e *eval) name(n string) (uint64, error) {
	if v, ok := e.memo[n]; ok {
		return v, nil
	}
	s, ok := e.syms[n]
	if !ok {
		return 0, fmt.Errorf("unknown name %s", n)
	}
	e.memo[n] = 0 // cycles
	v, err := e.value(s)
	if err != nil {
		return 0, err
	}
	e.memo[n] = v
	return v, nil
}

var tokRE = regexp.MustCompile(`0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*|[A-Za-z_][A-Za-z0-9_]*|<<|>>|[|&()~+\-*]`)

func tokenize(s string) []string { return tokRE.FindAllString(s, -1) }

type parser struct {
	toks []string
	i    int
	e    *eval
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) or() (uint64, error) {
	v, err := p.shift()
	for err == nil && p.peek() == "|" {
		p.i++
		var w uint64
		w, err = p.shift()
		v |= w
	}
	return v, err
}

func (p *parser) shift() (uint64, error) {
	v, err := p.add()
	for err == nil && (p.peek() == "<<" || p.peek() == ">>") {
		op := p.peek()
		p.i++
		var w uint64
		w, err = p.add()
		if op == "<<" {
			v <<= w
		} else {
			v >>= w
		}
	}
	return v, err
}

func (p *parser) add() (uint64, error) {
	v, err := p.unary()
	for err == nil && (p.peek() == "+" || p.peek() == "-" || p.peek() == "*") {
		op := p.peek()
		p.i++
		var w uint64
		w, err = p.unary()
		switch op {
		case "+":
			v += w
		case "-":
			v -= w
		default:
			v *= w
		}
	}
	return v, err
}

var intTypes = map[string]bool{"uint64_t": true, "uint32_t": true, "uint16_t": true, "uint8_t": true, "int": true, "unsigned": true, "long": true}

func (p *parser) unary() (uint64, error) {
	t := p.peek()
	switch {
	case t == "~":
		p.i++
		v, err := p.unary()
		return ^v, err
	case t == "-":
		p.i++
		v, err := p.unary()
		return -v, err
	case t == "(":
		// a cast?
		if p.i+2 < len(p.toks) && intTypes[p.toks[p.i+1]] && p.toks[p.i+2] == ")" {
			p.i += 3
			return p.unary()
		}
		p.i++
		v, err := p.or()
		if err != nil {
			return 0, err
		}
		if p.peek() != ")" {
			return 0, errors.New("missing )")
		}
		p.i++
		return v, nil
	case t == "":
		return 0, errors.New("unexpected end")
	case t[0] >= '0' && t[0] <= '9':
		p.i++
		s := strings.TrimRight(t, "uUlL")
		return strconv.ParseUint(s, 0, 64)
	default:
		p.i++
		return p.e.name(t)
	}
}

type nameValue struct {
	name string
	val  uint64
}

func parseFlagTables(src string, e *eval) (map[string][]nameValue, error) {
	tabRE := regexp.MustCompile(`(?s)const struct ppm_name_value\s+([a-z0-9_]+)\[\]\s*=\s*\{(.*?)\};`)
	entRE := regexp.MustCompile(`\{\s*"([^"]*)"\s*,\s*([^}]+)\}`)
	out := map[string][]nameValue{}
	for _, t := range tabRE.FindAllStringSubmatch(src, -1) {
		var l []nameValue
		for _, en := range entRE.FindAllStringSubmatch(t[2], -1) {
			v, err := e.value(en[2])
			if err != nil {
				return nil, fmt.Errorf("flag table %s, %s: %w", t[1], en[1], err)
			}
			l = append(l, nameValue{en[1], v})
		}
		out[t[1]] = l
	}
	return out, nil
}

type param struct {
	name, typ, flags string
}

type evInfo struct {
	code          int
	sym           string
	name          string
	category, efl uint64
	params        []param
}

// splitTop splits s at top-level commas (outside braces and quotes).
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{':
			depth++
		case c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// matchBrace returns the index of the brace closing the one at s[i].
func matchBrace(s string, i int) int {
	depth := 0
	inStr := false
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case inStr:
			if c == '\\' {
				j++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func parseEvents(src string, e *eval) ([]evInfo, int, error) {
	max, err := e.name("PPM_EVENT_MAX")
	if err != nil {
		return nil, 0, err
	}
	keyRE := regexp.MustCompile(`\[(PPME_[A-Z0-9_]+)\]\s*=\s*\{`)
	var evs []evInfo
	for _, loc := range keyRE.FindAllStringSubmatchIndex(src, -1) {
		sym := src[loc[2]:loc[3]]
		open := loc[1] - 1
		end := matchBrace(src, open)
		if end < 0 {
			return nil, 0, fmt.Errorf("%s: unbalanced braces", sym)
		}
		fields := splitTop(src[open+1 : end])
		if len(fields) < 4 {
			return nil, 0, fmt.Errorf("%s: %d fields", sym, len(fields))
		}
		code, err := e.name(sym)
		if err != nil {
			return nil, 0, err
		}
		ev := evInfo{code: int(code), sym: sym}
		ev.name, err = strconv.Unquote(fields[0])
		if err != nil {
			return nil, 0, fmt.Errorf("%s: name %s: %w", sym, fields[0], err)
		}
		if ev.category, err = e.value(fields[1]); err != nil {
			return nil, 0, fmt.Errorf("%s: category: %w", sym, err)
		}
		if ev.efl, err = e.value(fields[2]); err != nil {
			return nil, 0, fmt.Errorf("%s: flags: %w", sym, err)
		}
		n, err := e.value(fields[3])
		if err != nil {
			return nil, 0, fmt.Errorf("%s: nparams: %w", sym, err)
		}
		if n > 0 {
			if len(fields) < 5 {
				return nil, 0, fmt.Errorf("%s: %d params declared, none listed", sym, n)
			}
			ps := strings.TrimSpace(fields[4])
			ps = strings.TrimSuffix(strings.TrimPrefix(ps, "{"), "}")
			for _, pf := range splitTop(ps) {
				pf = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(pf), "{"), "}")
				parts := splitTop(pf)
				if len(parts) < 3 {
					return nil, 0, fmt.Errorf("%s: param %q", sym, pf)
				}
				name, err := strconv.Unquote(parts[0])
				if err != nil {
					return nil, 0, fmt.Errorf("%s: param name %s", sym, parts[0])
				}
				p := param{name: name, typ: strings.TrimPrefix(parts[1], "PT_")}
				if len(parts) >= 4 {
					p.flags = parts[3]
				}
				ev.params = append(ev.params, p)
			}
			if uint64(len(ev.params)) != n {
				return nil, 0, fmt.Errorf("%s: %d params declared, %d listed", sym, n, len(ev.params))
			}
		}
		evs = append(evs, ev)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].code < evs[j].code })
	return evs, int(max), nil
}

// catalogTypes maps libscap's PT_ names to the catalog's ParamType
// constants; libscap's names the catalog lacks are decoded as bytes.
var catalogTypes = map[string]string{
	"INT8": "ParamInt8", "INT16": "ParamInt16", "INT32": "ParamInt32", "INT64": "ParamInt64",
	"UINT8": "ParamUint8", "UINT16": "ParamUint16", "UINT32": "ParamUint32", "UINT64": "ParamUint64",
	"CHARBUF": "ParamCharBuf", "BYTEBUF": "ParamByteBuf", "ERRNO": "ParamErrno", "SOCKADDR": "ParamSockAddr",
	"SOCKTUPLE": "ParamSockTuple", "FD": "ParamFD", "PID": "ParamPID", "FDLIST": "ParamFDList",
	"FSPATH": "ParamFSPath", "FSRELPATH": "ParamFSRelPath", "SYSCALLID": "ParamSyscallID",
	"SIGTYPE": "ParamSigType", "SIGSET": "ParamSigSet", "RELTIME": "ParamRelTime", "ABSTIME": "ParamAbsTime",
	"DYN": "ParamDynamic", "FLAGS8": "ParamFlags8", "FLAGS16": "ParamFlags16", "FLAGS32": "ParamFlags32",
	"ENUMFLAGS8": "ParamEnumFlags8", "ENUMFLAGS16": "ParamEnumFlags16", "ENUMFLAGS32": "ParamEnumFlags32",
	"UID": "ParamUID", "GID": "ParamGID", "MODE": "ParamMode", "BOOL": "ParamBool", "DOUBLE": "ParamDouble",
	"PORT": "ParamPort", "IPV4ADDR": "ParamIPv4Addr", "IPV6ADDR": "ParamIPv6Addr", "IPADDR": "ParamIPAddr",
	"IPV4NET": "ParamIPv4Net", "IPV6NET": "ParamIPv6Net", "IPNET": "ParamIPNet", "L4PROTO": "ParamL4Proto",
	"SOCKFAMILY": "ParamSockFamily", "CHARBUFARRAY": "ParamCharBufArray", "CHARBUF_PAIR_ARRAY": "ParamCharBufPairArray",
	"BYTEBUF_ARRAY": "ParamByteBuf", "FD32": "ParamFD", "PID32": "ParamPID",
}

func render(evs []evInfo, max int, flagTables map[string][]nameValue, sc map[int]string, commit string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by runtime/scap/internal/gen; DO NOT EDIT.\n")
	fmt.Fprintf(&b, "// Source: falcosecurity/libs %s (driver/event_table.c, driver/flags_table.c).\n\n", commit)
	fmt.Fprintf(&b, "package scap\n\nimport \"github.com/falcoc/falcoc/compiler/catalog\"\n\n")
	fmt.Fprintf(&b, "// ppmEventMax is libscap's PPM_EVENT_MAX: codes at or above it are unknown.\nconst ppmEventMax = %d\n\n", max)
	used := map[string]bool{}
	for _, ev := range evs {
		for _, p := range ev.params {
			if p.flags != "" {
				if _, ok := flagTables[p.flags]; ok {
					used[p.flags] = true
				}
			}
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "var (\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\tppmFlags_%s = []ppmName{", n)
		for i, nv := range flagTables[n] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{%q, %#x}", nv.name, nv.val)
		}
		fmt.Fprintf(&b, "}\n")
	}
	fmt.Fprintf(&b, ")\n\n")
	fmt.Fprintf(&b, "// ppmTable describes every event code, indexed by code.\nvar ppmTable = [ppmEventMax]ppmEvent{\n")
	for _, ev := range evs {
		if ev.code >= max {
			continue
		}
		fmt.Fprintf(&b, "\t%d: {Name: %q, Sym: %q, Category: %#x, Flags: %#x", ev.code, ev.name, strings.TrimPrefix(ev.sym, "PPME_"), ev.category, ev.efl)
		if len(ev.params) > 0 {
			b.WriteString(", Params: []ppmParam{")
			for i, p := range ev.params {
				if i > 0 {
					b.WriteString(", ")
				}
				ct, ok := catalogTypes[p.typ]
				if !ok {
					return nil, fmt.Errorf("%s: param %s: unknown type PT_%s", ev.sym, p.name, p.typ)
				}
				fmt.Fprintf(&b, "{Name: %q, Type: catalog.%s", p.name, ct)
				if used[p.flags] {
					fmt.Fprintf(&b, ", Names: ppmFlags_%s", p.flags)
				}
				b.WriteString("}")
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
	codes := make([]int, 0, len(sc))
	for c := range sc {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Fprintf(&b, "// ppmSyscallNames gives the syscall name of a PPM_SC code (generic events).\nvar ppmSyscallNames = map[uint16]string{\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "\t%d: %q,\n", c, sc[c])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
