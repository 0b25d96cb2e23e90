package bpf

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lpmMatch is the trie's lookup: the value of the longest entry (a key
// path as the trie holds it) that is a prefix of key, or ok false.
func lpmMatch(entries map[string]Mask, key string) (Mask, bool) {
	best, found := -1, Mask{}
	for k, v := range entries {
		if len(k) > best && strings.HasPrefix(key, k) {
			best, found = len(k), v
		}
	}
	return found, best >= 0
}

// kernelSuffixKey is the key path the kernel builds for path p's suffix
// lookup (suffix_key): its last MaxSuffix bytes, a trailing '/' dropped,
// reversed.
func kernelSuffixKey(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if len(p) > 64 {
		p = p[len(p)-64:]
	}
	r := make([]byte, len(p))
	for i := range len(p) {
		r[i] = p[len(p)-1-i]
	}
	return string(r)
}

// TestLPMUsedSound checks the trie buckets against the lookup they stand
// for: for random tables, paths and event masks, whenever the bucket of a
// path shares no clause with the mask, the mask ANDed with whatever the
// trie returns (its default when nothing matches) equals the mask ANDed
// with the default. A bucket built from one entry too few, or from the
// wrong byte, fails it.
func TestLPMUsedSound(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	alpha := "/ab.\x00"
	word := func(min, max int) string {
		n := min + rng.Intn(max-min+1)
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha)-1)] // no NUL inside
		}
		return string(b)
	}
	mask := func() Mask {
		var m Mask
		for i := range 6 {
			if rng.Intn(2) == 0 {
				m = m.With(i)
			}
		}
		return m
	}
	skipped, checked := 0, 0
	for iter := range 3000 {
		tb := &Tables{PathPrefix: map[string]Mask{}, PathExact: map[string]Mask{}, Suffix: map[string]Mask{},
			PathDefault: mask(), SuffixDefault: mask()}
		for range rng.Intn(6) {
			tb.PathPrefix["/"+word(0, 3)] = mask()
		}
		if iter%7 == 0 {
			tb.PathPrefix["/"] = mask() // a one-byte prefix: every bucket
		}
		for range rng.Intn(6) {
			tb.PathExact["/"+word(0, 3)] = mask()
		}
		for range rng.Intn(6) {
			tb.Suffix[word(0, 4)] = mask()
		}
		pb, sb := pathBuckets(tb), suffixBuckets(tb)
		pathEntries := map[string]Mask{}
		for p, v := range tb.PathPrefix {
			pathEntries[p] = v
		}
		for p, v := range tb.PathExact {
			pathEntries[p+"\x00"] = v
		}
		sufEntries := map[string]Mask{}
		for s, v := range tb.Suffix { // the loader's key: the suffix reversed
			r := []byte(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			sufEntries[string(r)] = v
		}
		for range 20 {
			p := "/" + word(0, 5)
			m := mask()
			key := p + "\x00" // the kernel's key holds the NUL
			got, ok := lpmMatch(pathEntries, key)
			if !ok {
				got = tb.PathDefault
			}
			checked++
			if b := key[1]; pb[b].And(m).IsZero() {
				skipped++
				if m.And(got) != m.And(tb.PathDefault) {
					t.Fatalf("path %q, mask %v: bucket %q unused, but the trie gives %v, the default %v (tables %+v)",
						p, m, b, m.And(got), m.And(tb.PathDefault), tb)
				}
			}
			sk := kernelSuffixKey(p)
			got, ok = lpmMatch(sufEntries, sk)
			if !ok {
				got = tb.SuffixDefault
			}
			if b := sk[0]; sb[b].And(m).IsZero() {
				skipped++
				if m.And(got) != m.And(tb.SuffixDefault) {
					t.Fatalf("path %q, mask %v: suffix bucket %q unused, but the trie gives %v, the default %v (tables %+v)",
						p, m, b, m.And(got), m.And(tb.SuffixDefault), tb)
				}
			}
		}
	}
	if skipped < checked/4 {
		t.Fatalf("only %d of %d lookups skipped: the test exercises little", skipped, 2*checked)
	}
}

// TestLPMUsedBuckets checks which buckets a table marks.
func TestLPMUsedBuckets(t *testing.T) {
	a, b := MaskOf(1), MaskOf(2)
	tb := &Tables{
		PathPrefix:    map[string]Mask{"/tmp/": a.Or(b), "/": b},
		PathExact:     map[string]Mask{"/etc/shadow": b},
		PathDefault:   b,
		Suffix:        map[string]Mask{".pem": a, "": b.Or(MaskOf(3))},
		SuffixDefault: b,
	}
	pb, sb := pathBuckets(tb), suffixBuckets(tb)
	if pb['t'] != a || pb['e'] != (Mask{}) || pb['x'] != (Mask{}) {
		t.Errorf("path buckets t=%v e=%v x=%v, want %v, 0, 0 (/ and /etc/shadow equal the default)", pb['t'], pb['e'], pb['x'], a)
	}
	// .pem's value differs from the default in a and b.
	if sb['m'] != a.Or(b).Or(MaskOf(3)) || sb['x'] != MaskOf(3) {
		t.Errorf("suffix buckets m=%v x=%v, want %v and %v (the empty suffix is in every bucket)", sb['m'], sb['x'], a.Or(b).Or(MaskOf(3)), MaskOf(3))
	}
}

// TestLPMUsedLive: on the kernel, an open whose bucket shares no clause
// with its mask gets the trie's default without the lookup (the bucket
// forced empty while an entry would narrow the path shows it), and the
// buckets the loader writes keep every result the tries give.
func TestLPMUsedLive(t *testing.T) {
	c := load(t, &Options{NoSchedEvents: true})
	p1, p2, p3 := MaskOf(1), MaskOf(2), MaskOf(3)
	all := p1.Or(p2).Or(p3)
	tables := &Tables{
		Gate:           map[int]Mask{sysOpenat: all},
		DimsPerSyscall: map[int]Dim{sysOpenat: DimPath | DimSuffix},
		// p1: /etc/ only; p2 passes every path; p3: /tmp/ only.
		PathPrefix:  map[string]Mask{"/etc/": p1.Or(p2), "/tmp/": p2.Or(p3)},
		PathDefault: p2, PathUnknown: all,
		// p2: files ending in "passwd" or "hostname" only.
		Suffix:        map[string]Mask{"passwd": all, "hostname": all},
		SuffixDefault: p1.Or(p3), SuffixUnknown: all,
	}
	for _, tc := range []struct {
		path string
		want Mask
	}{
		{"/etc/passwd", p1.Or(p2)},
		{"/etc/hostname", p1.Or(p2)},
		{"/etc/group", p1},
		{"/dev/null", Mask{}},
		{"/proc/self/status", Mask{}},
		{"/tmp", Mask{}}, // no entry: "/tmp/" is longer
	} {
		setTables(t, c, tables, ModeFull)
		openClose(t, tc.path, unix.O_RDONLY)
		var got Mask
		for _, r := range drain(t, c, 200*time.Millisecond, mine(sysOpenat)) {
			got = got.Or(r.Mask)
		}
		if got != tc.want {
			t.Errorf("%s: mask %v, want %v", tc.path, got, tc.want)
		}
	}

	// The path bucket of 'e' forced empty: /etc/passwd takes the path
	// default (p2) instead of its entry (p1, p2), so only p2 is left.
	setTables(t, c, tables, ModeFull)
	if err := c.objs.LpmUsed.Update(uint32((c.set*2+0)*lpmBuckets+'e'), c.appendMask(nil, Mask{}), 0); err != nil {
		t.Fatal(err)
	}
	openClose(t, "/etc/passwd", unix.O_RDONLY)
	var got Mask
	for _, r := range drain(t, c, 200*time.Millisecond, mine(sysOpenat)) {
		got = got.Or(r.Mask)
	}
	if got != p2 {
		t.Errorf("path bucket 'e' forced empty: /etc/passwd mask %v, want %v (the default, no lookup)", got, p2)
	}
	// The suffix bucket of 'd' forced empty: /etc/passwd takes the
	// suffix default (p1, p3): p1 is left.
	setTables(t, c, tables, ModeFull)
	if err := c.objs.LpmUsed.Update(uint32((c.set*2+1)*lpmBuckets+'d'), c.appendMask(nil, Mask{}), 0); err != nil {
		t.Fatal(err)
	}
	openClose(t, "/etc/passwd", unix.O_RDONLY)
	got = Mask{}
	for _, r := range drain(t, c, 200*time.Millisecond, mine(sysOpenat)) {
		got = got.Or(r.Mask)
	}
	if got != p1 {
		t.Errorf("suffix bucket 'd' forced empty: /etc/passwd mask %v, want %v (the default, no lookup)", got, p1)
	}
}
