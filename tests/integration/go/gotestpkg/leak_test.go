package gotestpkg

import "testing"

func TestKeep(t *testing.T) {
	if got := Keep(9, 99); got != 9 { // LINE:test
		t.Fatalf("Keep made %d blocks, want 9", got)
	}
}
