package artifact

// Compress and Decompress expose the body's compression to the tests,
// which re-seal raw encodings as a hostile writer would.
var (
	Compress   = compress
	Decompress = decompress
)
