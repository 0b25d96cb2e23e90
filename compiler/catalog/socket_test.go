package catalog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSocketDomainText(t *testing.T) {
	tests := []struct {
		v    uint64
		want string
	}{
		{0, "AF_UNSPEC"},
		{1, "AF_LOCAL"}, // AF_LOCAL comes before AF_UNIX in the event table
		{2, "AF_INET"},
		{10, "AF_INET6"},
		{16, "AF_ROUTE"},
		{17, "AF_PACKET"},
		{27, "27"},
		{39, "AF_NFC"},
		{40, "40"},
		{1 << 32, "4294967296"},
	}
	for _, tc := range tests {
		if got := SocketDomainText(tc.v); got != tc.want {
			t.Errorf("SocketDomainText(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestSocketDomainNames(t *testing.T) {
	names := SocketDomainNames()
	var missing []string
	for _, n := range names {
		if _, ok := SocketDomainValue(n); !ok {
			missing = append(missing, n)
		}
	}
	if d := cmp.Diff([]string(nil), missing); d != "" || len(names) != len(socketDomains) {
		t.Errorf("%d names, %d values; names without a value (-want +got):\n%s", len(names), len(socketDomains), d)
	}
	if _, ok := SocketDomainValue("AF_BOGUS"); ok {
		t.Error("AF_BOGUS has a value")
	}
}
