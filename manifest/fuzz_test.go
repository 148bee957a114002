package manifest

import (
	"errors"
	"strings"
	"testing"
)

// FuzzClassify: Classify never panics, is deterministic, never pins HTML,
// and (without manifests or globs) only pins a name that holds a
// hash-like token by hashLikeToken, a definition of its own: so no rule,
// folder or combination of them can pin a name people would write.
func FuzzClassify(f *testing.F) {
	for _, tt := range classifyTests {
		f.Add(tt.rel)
	}
	for name := range goldenNames(f) {
		f.Add(name)
	}
	for _, s := range []string{"_app/immutable/chunks/", "_next/static/chunks/x-.js", "_nuxt/builds/meta/a.json", "a/.b/c-BRh8Y3xK.js", "-.-", "\x00.js", "é-BRh8Y3xK.js", "a.b.c.d.e.f.g.h.i.j"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		got, rule := Classify(rel, Facts{})
		if again, r := Classify(rel, Facts{}); again != got || r != rule {
			t.Fatalf("Classify(%q) is not deterministic", rel)
		}
		if !got {
			return
		}
		name := rel[strings.LastIndexByte(rel, '/')+1:]
		switch {
		case IsHTML(name):
			t.Fatalf("Classify(%q) pinned HTML by %s", rel, rule)
		case !hashLikeToken(name):
			t.Fatalf("Classify(%q) pinned a name without a hash-like token, by %s", rel, rule)
		}
	})
}

// hashLikeToken reports whether name has a run of 8 to 64 characters of
// [A-Za-z0-9_-] that starts the name or follows a '.' or '-', ends before
// a '.' or '-' with a '.' somewhere after it (a hash comes before the
// extension), and is not made only of lower-case letters, '-' and '_' (a
// word), nor only of digits unless a '.' precedes it (webpack's
// 908.96107024.chunk.js).
func hashLikeToken(name string) bool {
	alphabet := func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }
	for i := 0; i < len(name); i++ {
		if i > 0 && name[i-1] != '.' && name[i-1] != '-' {
			continue
		}
		for j := i + 8; j <= len(name) && j-i <= 64; j++ {
			if !alphabet(name[j-1]) {
				break
			}
			if j == len(name) || (name[j] != '.' && name[j] != '-') || !strings.Contains(name[j:], ".") {
				continue
			}
			if t := name[i:j]; strings.ContainsAny(t, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
				(strings.Trim(t, "0123456789") != "" || (i > 0 && name[i-1] == '.')) {
				return true
			}
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
