package grpcapi

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/falcoc/falcoc/runtime/grpcapi/pb/outputs"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/schema"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/version"
)

var update = flag.Bool("update", false, "rewrite testdata/wire.txt")

// TestWireContract pins what Falco's clients depend on: packages, service
// and method names, streaming, message and field names, numbers and types,
// enum names and numbers. testdata/wire.txt was checked against
// ../shared/reference/falco-grpc-api.md and against Falco 0.43's own
// outputs.proto, schema.proto and version.proto (compiled with protoc, the
// same list came out); a change here breaks those clients.
func TestWireContract(t *testing.T) {
	var lines []string
	for _, fd := range []protoreflect.FileDescriptor{schema.File_schema_proto, outputs.File_outputs_proto, version.File_version_proto} {
		pkg := fd.Package()
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				lines = append(lines, fmt.Sprintf("rpc %s.%s/%s(%s client_stream=%v) returns (%s server_stream=%v)", pkg, s.Name(), m.Name(),
					m.Input().FullName(), m.IsStreamingClient(), m.Output().FullName(), m.IsStreamingServer()))
			}
		}
		for i := range fd.Messages().Len() {
			m := fd.Messages().Get(i)
			if m.Fields().Len() == 0 {
				lines = append(lines, fmt.Sprintf("message %s (no fields)", m.FullName()))
			}
			for j := range m.Fields().Len() {
				f := m.Fields().Get(j)
				typ := f.Kind().String()
				switch {
				case f.IsMap():
					typ = fmt.Sprintf("map<%s, %s>", f.MapKey().Kind(), f.MapValue().Kind())
				case f.Message() != nil:
					typ = string(f.Message().FullName())
				case f.Enum() != nil:
					typ = "enum " + string(f.Enum().FullName())
				}
				if f.Cardinality() == protoreflect.Repeated && !f.IsMap() {
					typ = "repeated " + typ
				}
				lines = append(lines, fmt.Sprintf("message %s field %s = %d %s", m.FullName(), f.Name(), f.Number(), typ))
			}
		}
		for i := range fd.Enums().Len() {
			e := fd.Enums().Get(i)
			for j := range e.Values().Len() {
				v := e.Values().Get(j)
				lines = append(lines, fmt.Sprintf("enum %s %s = %d", e.FullName(), v.Name(), v.Number()))
			}
		}
	}
	slices.Sort(lines)
	got := strings.Join(lines, "\n") + "\n"
	const golden = "testdata/wire.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("wire contract changed (-want +got)\n%s", diff)
	}
}
