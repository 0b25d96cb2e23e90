package extract

import (
	"os"
	"strings"
	"testing"
)

// The example of docs/replay-format.md reads and says what the text says.
func TestReplayFormatDocExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/replay-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```jsonl\n")
	if !ok {
		t.Fatal("no jsonl block in docs/replay-format.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	runTrace(t, testDeps(t), example, map[int]map[string]string{
		2: {
			"proc.name": "cat", "proc.pname": "bash", "fd.name": "/etc/shadow", "evt.arg.flags": "O_RDONLY|O_CLOEXEC",
			"evt.args":  "fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=/etc/shadow flags=524288(O_RDONLY|O_CLOEXEC)",
			"user.name": "alice", "proc.tty": "34816",
		},
		3: {"fd.name": "/etc/shadow"},
		4: {"proc.name": "cat", "evt.type": "procexit"},
		5: {"container.id": "3f8a9c2d1b0e", "fd.sip": "203.0.113.7", "fd.sport": "4444", "proc.name": "sh"},
	})
}
