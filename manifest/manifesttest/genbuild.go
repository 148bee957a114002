package manifesttest

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GenSpec describes a synthetic SPA build for benchmarks and load scripts.
type GenSpec struct {
	// Files is how many assets the build has (index.html aside).
	Files int
	// Bytes is the assets' total size, roughly (within a few percent).
	Bytes int64
	// Seed makes the build: the same spec writes the same bytes.
	Seed uint64
	// Changed is the share of assets (0..1) whose bytes depend on Salt, so
	// two builds of one Seed and other Salts share the rest, as
	// consecutive deploys do. Default: 0 (Salt changes nothing).
	Changed float64
	// Salt varies the changed assets between builds of one Seed.
	Salt string
	// ModTime is every file's modification time. Default: 2026-11-01.
	ModTime time.Time
}

// GenerateBuild writes a build shaped like a bundler's output into dir:
// hashed JavaScript (and a CSS file in eight) under assets/, sized like
// real chunks (mostly 1-4 KB, a long tail of larger ones), made of
// minified-looking code that compresses as real code does (3-5x), and an
// index.html that loads the first asset. It returns the asset paths,
// relative to dir.
func GenerateBuild(dir string, spec GenSpec) ([]string, error) {
	if spec.Files < 1 {
		return nil, fmt.Errorf("generate build: %d files", spec.Files)
	}
	if spec.ModTime.IsZero() {
		spec.ModTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return nil, err
	}
	sizes := chunkSizes(spec)
	paths := make([]string, spec.Files)
	for i, n := range sizes {
		seed := spec.Seed*1_000_003 + uint64(i)
		salt := ""
		if float64(i%1000) < spec.Changed*1000 {
			salt = spec.Salt
		}
		body := chunkBody(seed, salt, n)
		ext := ".js"
		if i%8 == 3 {
			ext = ".css"
		}
		paths[i] = "assets/" + chunkName(i, body) + ext
		if err := writeWithTime(filepath.Join(dir, paths[i]), body, spec.ModTime); err != nil {
			return nil, err
		}
	}
	index := "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>generated</title>\n" +
		`<script type="module" crossorigin src="/` + paths[0] + "\"></script>\n</head>\n<body><div id=\"app\"></div></body>\n</html>\n"
	if err := writeWithTime(filepath.Join(dir, "index.html"), []byte(index), spec.ModTime); err != nil {
		return nil, err
	}
	return paths, nil
}

func writeWithTime(p string, b []byte, mod time.Time) error {
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return err
	}
	return os.Chtimes(p, mod, mod)
}

// chunkSizes draws log-normal sizes (median ~1.6 KB) and scales them to
// the total asked for.
func chunkSizes(spec GenSpec) []int {
	r := rand.New(rand.NewPCG(spec.Seed, 7))
	raw := make([]float64, spec.Files)
	var sum float64
	for i := range raw {
		raw[i] = math.Exp(7.4 + 0.9*r.NormFloat64())
		sum += raw[i]
	}
	sizes := make([]int, spec.Files)
	for i, v := range raw {
		sizes[i] = max(64, int(v*float64(spec.Bytes)/sum))
	}
	return sizes
}

// chunkName is a Vite-style name: a word and 8 base64url hash characters.
func chunkName(i int, body []byte) string {
	var h uint64 = 1469598103934665603
	for _, c := range body {
		h = (h ^ uint64(c)) * 1099511628211
	}
	var b [6]byte
	for j := range b {
		b[j] = byte(h >> (8 * j))
	}
	hash := base64.RawURLEncoding.EncodeToString(b[:])
	// A hash must mix letters and digits to count as one.
	return fmt.Sprintf("chunk%d-%s%d", i, hash[:7], i%10)
}

var jsWords = strings.Fields(`const let var function return if else for while new this typeof
	null undefined true false await async import export default from class extends super
	window document addEventListener querySelector createElement appendChild innerHTML
	length push map filter reduce forEach Object keys assign Promise resolve then catch
	props state render useState useEffect children className onClick value event target
	JSON stringify parse Math floor random Date now Array isArray String Number console`)

// chunkBody writes n bytes of minified-looking JavaScript from seed (and
// salt, which changes every byte).
func chunkBody(seed uint64, salt string, n int) []byte {
	var s uint64
	for _, c := range salt {
		s = s*31 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, s))
	local := make([]string, 24)
	for i := range local {
		local[i] = fmt.Sprintf("%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26)) + strings.Repeat("$", r.IntN(2))
	}
	var b strings.Builder
	b.Grow(n + 64)
	punct := []string{"(", ")", "{", "}", ";", ",", ".", "=", "=>", "&&", "||", "?", ":", "+", "[", "]", "!"}
	for b.Len() < n {
		// Code repeats itself (calls, property chains, imports): copy an
		// earlier run now and then, as a compressor will find it.
		if b.Len() > 64 && r.IntN(3) == 0 {
			prev := b.String()
			l := 8 + r.IntN(40)
			at := r.IntN(len(prev) - l + 1)
			b.WriteString(prev[at : at+min(l, len(prev)-at)])
			continue
		}
		switch k := r.IntN(10); {
		case k < 4:
			b.WriteString(local[r.IntN(len(local))])
		case k < 7:
			b.WriteString(jsWords[int(float64(len(jsWords))*math.Pow(r.Float64(), 2))])
		case k < 8:
			fmt.Fprintf(&b, "%d", r.IntN(100000))
		case k < 9:
			fmt.Fprintf(&b, "%q", local[r.IntN(len(local))]+jsWords[r.IntN(len(jsWords))])
		default:
			b.WriteByte(' ')
		}
		b.WriteString(punct[r.IntN(len(punct))])
	}
	return []byte(b.String()[:n])
}
