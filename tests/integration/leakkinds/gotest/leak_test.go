package gotest

import (
	"os"
	"testing"
)

func TestGreeting(t *testing.T) {
	leak := os.Getenv("GOTEST_LEAK") == "1"
	for i := 0; i < 3; i++ {
		if got := Greeting("hello, C", leak); got != "hello, C" {
			t.Fatalf("Greeting: %q", got)
		}
	}
}
