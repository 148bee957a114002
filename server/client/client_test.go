package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The embedded helper must be built from the current source: its first
// line names the source's SHA-256.
func TestMinifiedIsCurrent(t *testing.T) {
	sum := sha256.Sum256(Source)
	want := []byte("// skewless client helper; source sha256:" + hex.EncodeToString(sum[:]) + "\n")
	if !bytes.HasPrefix(JS, want) {
		t.Fatal("client.min.js is not built from the current client.js: run scripts/build-client.sh")
	}
	if len(JS) >= len(Source) {
		t.Fatalf("client.min.js (%d bytes) is not smaller than client.js (%d)", len(JS), len(Source))
	}
}
