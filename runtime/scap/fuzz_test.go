package scap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/state"
)

// seedCaptures returns the test captures, decompressed (so that the
// fuzzer mutates blocks, not deflate streams), and a few small ones.
func seedCaptures(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, b := range fullCaptures(tb) {
		// The tables and the first events: small inputs fuzz faster.
		out = append(out, b[:min(len(b), 24<<10)])
	}
	return append(out, minimalCapture())
}

// fullCaptures returns the test captures, decompressed.
func fullCaptures(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	files, _ := filepath.Glob("testdata/*.scap")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if d, err := io.ReadAll(zr); err == nil {
				b = d
			}
		}
		out = append(out, b)
	}
	return out
}

// minimalCapture is a section header and one EV_V2 event (an openat exit).
func minimalCapture() []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	_ = w.WriteHeader(&Header{Major: currentMajor, Minor: currentMinor})
	_ = w.WriteRaw(&RawEvent{Ts: 1, Tid: 2, Type: 307, Params: [][]byte{le64(3), le64(^uint64(99)), []byte("/etc/passwd\x00"), le32(1), le32(0), le32(0), le64(0)}})
	_ = w.Flush()
	return buf.Bytes()
}

func le64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
func le32(v uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, v); return b }

// readAll reads a whole capture through the reader, the decoder and the
// state seeding, as falco-run does; it returns the first error.
func readAll(data []byte, maxEvents int) error {
	return readAllState(data, maxEvents, false)
}

func readAllState(data []byte, maxEvents int, applyState bool) error {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	d := NewDecoder()
	var raw RawEvent
	var ev event.Event
	t := state.NewTable(&state.Options{ProcReadsPerSec: -1})
	Seed(t, r.Header(), 0)
	for i := 0; i < maxEvents; i++ {
		err := r.Next(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Decode(&raw, &ev) && applyState {
			state.ApplyBefore(t, &ev)
			state.ApplyAfter(t, &ev)
		}
	}
	return nil
}

// FuzzReader: any input gives events or an error, never a panic; an
// error from a malformed capture names a byte offset (a *FormatError).
func FuzzReader(f *testing.F) {
	for _, b := range seedCaptures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := readAll(data, 10000)
		if err == nil {
			return
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			// gzip errors are the only others a byte slice can give
			if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
				return
			}
			t.Fatalf("error without offset: %v", err)
		}
		if fe.Offset < 0 || fe.Offset > int64(len(data))+16 && !(len(data) >= 2 && data[0] == 0x1f) {
			t.Fatalf("offset %d outside the %d bytes of input: %v", fe.Offset, len(data), err)
		}
	})
}

// FuzzDecode: any event code and parameter bytes decode or are skipped,
// never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(307), []byte("\x03\x00\x00\x00\x00\x00\x00\x00"), []byte("/etc/passwd\x00"), []byte{1, 0, 0, 0})
	f.Add(uint16(293), []byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte("cat\x00"), []byte("a\x00b\x00"))
	f.Add(uint16(23), []byte{2, 127, 0, 0, 1, 80, 0}, []byte{2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []byte{})
	f.Add(uint16(1), []byte{5, 0}, []byte{39, 0}, []byte{})
	f.Fuzz(func(t *testing.T, typ uint16, a, b, c []byte) {
		d := NewDecoder()
		var ev event.Event
		raw := RawEvent{Type: typ % (ppmEventMax + 2), Tid: 1, Params: [][]byte{a, b, c, a, b, c}}
		d.Decode(&raw, &ev)
		raw.Type = typ%ppmEventMax | 1 // its exit, merging the enter
		d.Decode(&raw, &ev)
	})
}

// FuzzReplay: as FuzzReader, with each decoded event applied to the state
// as a replay applies it: a capture's content may not crash the state.
func FuzzReplay(f *testing.F) {
	for _, b := range seedCaptures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = readAllState(data, 10000, true)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			os.WriteFile("/tmp/fuzzhang.bin", data, 0o644)
			t.Fatalf("no result after 10 s (%d bytes of input)", len(data))
		}
	})
}
