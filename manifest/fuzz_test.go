package manifest

import (
	"errors"
	"strings"
	"testing"
)

// FuzzIsHashedName: IsHashedName never panics, is deterministic, and only
// says yes to a name with an extension after a hash-shaped run of at least
// eight characters. A name with a '/' (a caller passing a path) or ending
// in one is handled like any other string.
func FuzzIsHashedName(f *testing.F) {
	for _, tt := range hashedNameTests {
		f.Add(tt.in)
	}
	for _, s := range []string{"assets/index-BRh8Y3xK.js", "static/js/", "a.b/c", "x/.a1b2c3d4.js", "..", "-.-", "\x00.js", "é-BRh8Y3xK.js"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := IsHashedName(name)
		if got != IsHashedName(name) {
			t.Fatalf("IsHashedName(%q) is not deterministic", name)
		}
		if !got {
			return
		}
		if strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") {
			t.Fatalf("IsHashedName(%q) = true for a name without an extension", name)
		}
		if !hasHashRun(name) {
			t.Fatalf("IsHashedName(%q) = true without 8 hash characters before a '.'", name)
		}
		ext := name[strings.LastIndexByte(name, '.')+1:]
		if strings.ContainsAny(ext, "/-_") {
			t.Fatalf("IsHashedName(%q) = true with extension %q", name, ext)
		}
	})
}

// hasHashRun reports a run of 8+ characters of [A-Za-z0-9_-] directly
// followed by a '.'.
func hasHashRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c) || c == '-' || c == '_':
			run++
		case c == '.' && run >= 8:
			return true
		default:
			run = 0
		}
	}
	return false
}

// FuzzDecodeHistory: decodeHistory never panics and returns either an
// error wrapping ErrCorruptState with an empty state, or a usable state:
// the current format, valid version names, a record for the current build,
// and one that survives the operations the registry runs on it.
func FuzzDecodeHistory(f *testing.F) {
	for _, tt := range decodeHistoryTests {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(`{"format":1,"rev":18446744073709551615,"seq":18446744073709551615,"current":"v1","builds":{"v1":{"seq":1,"activated":"2026-02-13T12:00:00Z","hashed":["/a"]}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"format":1,"builds":{"v1":{"problems":["x"]},"v2":{"retired":"0001-01-01T00:00:00Z"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeHistory(b)
		if s == nil || s.Builds == nil || s.Format != stateFormat {
			t.Fatalf("decodeHistory(%q) = %+v, %v: not a usable history", b, s, err)
		}
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("decodeHistory(%q): error %v does not wrap ErrCorruptState", b, err)
			}
			if s.Current != "" || len(s.Builds) != 0 {
				t.Fatalf("decodeHistory(%q): a corrupt state kept %+v", b, s)
			}
			return
		}
		for v, r := range s.Builds {
			if !ValidVersion(v) || r == nil {
				t.Fatalf("decodeHistory(%q) kept build %q (%v)", b, v, r)
			}
			_ = s.StateOf(v)
		}
		if s.Current != "" && s.StateOf(s.Current) != Current {
			t.Fatalf("decodeHistory(%q): current %q is %v", b, s.Current, s.StateOf(s.Current))
		}
		seq := s.Seq
		if got := s.Activate("fuzz", Summary{}, policyNow); got != seq+1 || s.StateOf("fuzz") != Current {
			t.Fatalf("Activate on a decoded history: seq %d (was %d), state %v", got, seq, s.StateOf("fuzz"))
		}
		s.Retire("fuzz", policyNow)
		if s.Current != "" || s.StateOf("fuzz") != Retired {
			t.Fatalf("Retire of the current build: current %q, state %v", s.Current, s.StateOf("fuzz"))
		}
	})
}
