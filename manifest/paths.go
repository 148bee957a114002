package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
)

// buildPaths lists the URL paths of b's non-HTML files, sorted: what a
// live build keeps serving and what its retired marker remembers (HTML is
// only ever the current build's).
func buildPaths(b *Build) []string {
	out := make([]string, 0, len(b.Files))
	for p := range b.Files {
		if !IsHTML(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// pathSet turns a path list into a set for lookups.
func pathSet(paths []string) map[string]struct{} {
	set := make(map[string]struct{}, len(paths))
	for _, p := range paths {
		set[p] = struct{}{}
	}
	return set
}

// encodePaths is a stored path list: one path a line.
func encodePaths(paths []string) []byte {
	var b bytes.Buffer
	for _, p := range paths {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func decodePaths(b []byte) []string {
	var out []string
	for line := range strings.Lines(string(b)) {
		if p := strings.TrimSuffix(line, "\n"); strings.HasPrefix(p, "/") {
			out = append(out, p)
		}
	}
	return out
}

// pathsDigest names a stored path list by its content.
func pathsDigest(encoded []byte) string {
	sum := sha256.Sum256(encoded)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// jsonIndent encodes the state as people read it: indented, one document
// ending in a newline.
func jsonIndent(h *History) ([]byte, error) {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
