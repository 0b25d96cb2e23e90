package replay

import (
	"math/rand"
	"strconv"
	"testing"
)

// TestPlainInt: the word-at-a-time plainInt gives plainIntLoop's answer
// (value, end, ok) on generated numbers of every length, signs, leading
// zeros, fractions, exponents, and numbers near the end of the buffer.
func TestPlainInt(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var cases []string
	for _, s := range []string{"-100,", "0,", "00,", "-0,", "01,", "1.5,", "12e3,", "7E1,", "1234567,", "12345678,",
		"123456789012,", "123456789012345678,", "1234567890123456789,", "-,", ",", "7}", "-9999999}", "5\n6", "-12345678\n"} {
		cases = append(cases, s)
	}
	for k := 0; k < 2000; k++ {
		n := r.Int63n(1 << uint(r.Intn(63)))
		if r.Intn(2) == 0 {
			n = -n
		}
		cases = append(cases, strconv.FormatInt(n, 10)+string(",}.eE\n x"[r.Intn(8)]))
	}
	for _, c := range cases {
		for _, pad := range []string{"", "        ", `,"type":"openat","tid":`} {
			b := []byte("ab" + c + pad)
			n1, e1, ok1 := plainIntLoop(b, 2)
			n2, e2, ok2 := plainInt(b, 2)
			if n1 != n2 || e1 != e2 || ok1 != ok2 {
				t.Errorf("%q: plainInt %d %d %v, plainIntLoop %d %d %v", b, n2, e2, ok2, n1, e1, ok1)
			}
		}
	}
}

var sinkInt int64

// BenchmarkPlainInt: a trace's integers (a time stamp, a tid, a res of
// one or two digits), each followed by a literal.
func BenchmarkPlainInt(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	var buf []byte
	var at []int
	for k := 0; k < 3000; k++ {
		for _, v := range []int{100000 + k, 1000 + r.Intn(10), 3 + r.Intn(20)} {
			at = append(at, len(buf))
			buf = strconv.AppendInt(buf, int64(v), 10)
			buf = append(buf, `,"type":"openat","x":`...)
		}
	}
	for b.Loop() {
		for _, i := range at {
			n, _, _ := plainInt(buf, i)
			sinkInt += n
		}
	}
}
