// Package pb holds the Go code generated from proto/*.proto: Falco's gRPC
// output API (packages falco.schema, falco.outputs, falco.version). The
// generated files are committed; `make generate` (go generate) rebuilds
// them with protoc (Debian's protobuf-compiler) and the protoc-gen-go and
// protoc-gen-go-grpc versions pinned as tools in go.mod.
package pb

//go:generate protoc -I ../proto --plugin=protoc-gen-go=tools/protoc-gen-go --plugin=protoc-gen-go-grpc=tools/protoc-gen-go-grpc --go_out=. --go_opt=module=github.com/falcoc/falcoc/runtime/grpcapi/pb --go-grpc_out=. --go-grpc_opt=module=github.com/falcoc/falcoc/runtime/grpcapi/pb schema.proto outputs.proto version.proto
