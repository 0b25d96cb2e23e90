package scap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/falcoc/falcoc/runtime/event"
)

// build writes a capture: a header with one thread and its fd, then the
// given events.
func build(t *testing.T, evs ...RawEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	h := &Header{Threads: []*Thread{{Tid: 10, Pid: 10, PTid: 1, Comm: "sh", Exe: "sh", ExePath: "/bin/sh", Cwd: "/",
		Args: []string{"-c", "x"}, Vtid: 10, Vpid: 10, LoginUID: 1000, UID: 1000, GID: 1000,
		FDs: []FD{{Num: 3, Type: FDFile, Name: "/etc/hosts", OpenFlags: 1}}}},
		Users: []User{{UID: 1000, GID: 1000, Name: "alice", Home: "/home/alice", Shell: "/bin/sh"}}}
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteRaw(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openatX is an openat exit (PPME_SYSCALL_OPENAT_2_X) of tid 10.
func openatX(ts uint64) RawEvent {
	return RawEvent{Ts: ts, Tid: 10, Type: 307, Params: [][]byte{le64(4), le64(^uint64(99)), []byte("/etc/shadow\x00"), le32(1), le32(0), le32(0), le64(0)}}
}

func TestWriteRead(t *testing.T) {
	data := build(t, openatX(100), openatX(200))
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	if h.Major != 1 || h.Minor != 2 || len(h.Threads) != 1 || len(h.Users) != 1 || h.Users[0].Name != "alice" {
		t.Fatalf("header %+v", h)
	}
	th := h.Threads[0]
	if th.ExePath != "/bin/sh" || th.LoginUID != 1000 || len(th.FDs) != 1 || th.FDs[0].Name != "/etc/hosts" || th.FDs[0].Type != FDFileV2 || strings.Join(th.Args, " ") != "-c x" {
		t.Fatalf("thread %+v", th)
	}
	var raw RawEvent
	n := 0
	for {
		err := r.Next(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if raw.Type != 307 || len(raw.Params) != 7 || string(raw.Params[2]) != "/etc/shadow\x00" {
			t.Fatalf("event %+v", raw)
		}
	}
	if n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// TestMalformed: each corruption gives a *FormatError naming the offset of
// what is wrong, with the whole message checked.
func TestMalformed(t *testing.T) {
	good := build(t, openatX(100))
	evOff := bytes.LastIndex(good, le32(blockEVV2)) // the event block
	if evOff < 0 {
		t.Fatal("no event block")
	}
	patch := func(off int, b []byte) []byte {
		d := bytes.Clone(good)
		copy(d[off:], b)
		return d
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "offset 0: section header: empty file"},
		{"not scap", []byte("hello world, this is text"), "offset 0: section header: the file does not start with a section header block (type 0x6c6c6568): not a scap capture"},
		{"truncated event", good[:len(good)-10], "offset " + itoa(len(good)-10) + ": event: block body (" + itoa(len(good)-evOff-12) + " bytes): the file ends " + itoa(len(good)-10-evOff-8) + " bytes into " + itoa(len(good)-evOff-12) + " (truncated?)"},
		{"truncated header", good[:evOff+5], "offset " + itoa(evOff) + ": block header: the file ends 5 bytes into a block header (truncated?)"},
		{"4 GB block", patch(evOff+4, le32(0xfffffff0)), "offset " + itoa(evOff) + ": event: block length 4294967280 is over the reader's limit 268435456"},
		{"event block over 64 KiB", patch(evOff+4, le32(70000)), "offset " + itoa(evOff) + ": event: event block length 70000 is over the 65536 bytes of a non-large event block"},
		{"bogus nparams", patch(evOff+8+2+22, le32(0xffffffff)), "offset " + itoa(evOff+8+2+26) + ": event: 4294967295 parameters do not fit in an event of " + itoa(int(binary.LittleEndian.Uint32(good[evOff+8+2+16:]))) + " bytes"},
		{"event length past block", patch(evOff+8+2+16, le32(60000)), "offset " + itoa(evOff+8+2+16) + ": event: event length 60000 is larger than the " + itoa(len(good)-evOff-12-2) + " bytes of the block"},
		{"param length past end", patch(evOff+8+2+26, []byte{0xff, 0xff}), "offset " + itoa(evOff+8+2+26+14) + ": event: parameter 0: need 65535 bytes, " + itoa(int(binary.LittleEndian.Uint32(good[evOff+8+2+16:]))-26-14) + " left in the block"},
		{"trailer mismatch", patch(len(good)-4, le32(12345)), "offset " + itoa(len(good)-4) + ": event: block trailer says length 12345, the header " + itoa(int(binary.LittleEndian.Uint32(good[evOff+4:])))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(tc.data, 100)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FormatError", err)
			}
			if err.Error() != tc.want {
				t.Fatalf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func itoa(i int) string { return string(appendInt(nil, int64(i))) }

// TestProcListBogusLength: a PL_V9 entry whose length runs past its block.
func TestProcListBogusLength(t *testing.T) {
	good := build(t, openatX(1))
	pl := bytes.Index(good, le32(blockPLV9))
	d := bytes.Clone(good)
	copy(d[pl+8:], le32(0x7fffffff))
	err := readAll(d, 10)
	want := "offset " + itoa(pl+8) + ": process list: process entry length 2147483647 does not fit in the "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %s...", err, want)
	}
}

// TestGzip reads a gzip capture (Falco's test traces are gzip).
func TestGzip(t *testing.T) {
	b, err := os.ReadFile("testdata/cat_write.scap")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Compressed() || r.Header().Major != 1 || r.Header().Minor != 0 || len(r.Header().Threads) != 73 {
		t.Fatalf("compressed %v, header %d.%d with %d threads", r.Compressed(), r.Header().Major, r.Header().Minor, len(r.Header().Threads))
	}
}

// TestEnterMemoryBounded: enter events of many threads that never exit
// are kept within MaxPendingEnters and MaxPendingEnterBytes, the rest
// counted as dropped.
func TestEnterMemoryBounded(t *testing.T) {
	d := NewDecoder()
	big := make([]byte, 60000)
	var ev event.Event
	// PPME_SYSCALL_WRITE_E (8): fd, size; a 60 kB parameter each
	for tid := int64(1); tid <= 3000; tid++ {
		raw := RawEvent{Tid: tid, Type: 8, Params: [][]byte{big, le32(1)}}
		if d.Decode(&raw, &ev) {
			t.Fatal("an enter event was passed on")
		}
	}
	if d.enterBytes > MaxPendingEnterBytes || len(d.enters) > MaxPendingEnters {
		t.Fatalf("%d bytes in %d enters kept", d.enterBytes, len(d.enters))
	}
	want := uint64(3000 - MaxPendingEnterBytes/60004)
	if got := d.Stats().EntersDropped; got != want {
		t.Errorf("dropped %d, want %d", got, want)
	}
}

// TestLargePayload: an event libscap marks as large payload travels in an
// EV_V2_LARGE block with 32-bit parameter lengths, past 64 KiB.
func TestLargePayload(t *testing.T) {
	json := []byte(`{"container":{"id":"` + strings.Repeat("a", 200000) + `"}}` + "\x00")
	data := build(t, RawEvent{Ts: 5, Tid: 10, Type: 324, Params: [][]byte{json}}, openatX(6))
	if !bytes.Contains(data, le32(blockEVV2Large)) {
		t.Fatal("no EV_V2_LARGE block written")
	}
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var raw RawEvent
	if err := r.Next(&raw); err != nil {
		t.Fatal(err)
	}
	if raw.Type != 324 || len(raw.Params) != 1 || !bytes.Equal(raw.Params[0], json) {
		t.Fatalf("large event: type %d, %d params", raw.Type, len(raw.Params))
	}
	d := NewDecoder()
	var ev event.Event
	if !d.Decode(&raw, &ev) || ev.Type() != "container" || len(ev.Params[0].S)+len(ev.Params[0].B) < 200000 {
		t.Fatalf("decoded %s %+v", ev.Type(), d.Stats())
	}
	if err := r.Next(&raw); err != nil || raw.Type != 307 {
		t.Fatalf("after the large event: %v, type %d", err, raw.Type)
	}
	// A parameter over 64 KiB in an event that is not large payload is
	// refused by the writer.
	if err := NewWriter(io.Discard).WriteRaw(&RawEvent{Type: 307, Params: [][]byte{make([]byte, 70000)}}); err == nil {
		t.Error("a 70 kB parameter of a non-large event was written")
	}
}

// TestEVFBlock: EVF_V2 blocks (events with 32 bits of dump flags) read as
// events, their flags kept.
func TestEVFBlock(t *testing.T) {
	data := build(t, openatX(7))
	ev := bytes.LastIndex(data, le32(blockEVV2))
	total := binary.LittleEndian.Uint32(data[ev+4:])
	body := data[ev+8 : ev+int(total)-4]
	var e enc
	e.b = append(e.b, body[:2]...) // cpu
	e.u32(0x8)                     // flags
	e.b = append(e.b, body[2:]...)
	var blk bytes.Buffer
	w := NewWriter(&blk)
	if err := w.block(blockEVFV2, e.b); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	out := append(bytes.Clone(data[:ev]), blk.Bytes()...)
	r, err := NewReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var raw RawEvent
	if err := r.Next(&raw); err != nil {
		t.Fatal(err)
	}
	if raw.Flags != 8 || raw.Type != 307 || raw.Ts != 7 || string(raw.Params[2]) != "/etc/shadow\x00" {
		t.Fatalf("EVF event %+v", raw)
	}
}
