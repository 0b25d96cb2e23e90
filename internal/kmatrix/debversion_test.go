package kmatrix

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"5.10.262-1", "5.10.99-1", 1},
		{"6.12.95-1~bpo12+1", "6.12.95-1", -1},
		{"6.12.118-1~deb12u1", "6.12.118-1", -1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0+b1", -1},
		{"1.0a", "1.0", 1},
		{"1.0-1", "1.0", 1},
		{"6.1.192-3", "6.1.192-10", -1},
		{"0001.2", "1.2", 0},
	}
	for _, tc := range tests {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestNewestInSeries(t *testing.T) {
	cands := []pkgVersion{
		{"linux-image-6.1.0-56-cloud-amd64", "6.1.190-1"},
		{"linux-image-6.1.0-57-cloud-amd64", "6.1.192-3"},
		{"linux-image-6.12.118+deb12-cloud-amd64", "6.12.118-1~deb12u1"},
		{"linux-image-6.1.0-9-cloud-amd64", "6.1.27-1"},
	}
	got, err := newestInSeries(cands, "6.1.")
	if err != nil || got.Name != "linux-image-6.1.0-57-cloud-amd64" {
		t.Errorf("series 6.1.: got %v, %v", got, err)
	}
	got, err = newestInSeries(cands, "")
	if err != nil || got.Name != "linux-image-6.12.118+deb12-cloud-amd64" {
		t.Errorf("any series: got %v, %v", got, err)
	}
	if _, err := newestInSeries(cands, "5.10."); err == nil {
		t.Error("series 5.10.: no error")
	}
}
