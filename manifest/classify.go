package manifest

import (
	"slices"
	"strings"
)

// Rule names what decided whether a file is immutable (cached for a year)
// or revalidated on every use; `skewless inspect` prints it beside each file.
type Rule string

// The rules Classify applies, in the order it applies them.
const (
	// RuleHTML: an HTML document is always revalidated, whatever its name:
	// it names the build's current assets.
	RuleHTML Rule = "html"
	// RuleFlag: the path matches an --immutable glob.
	RuleFlag Rule = "immutable-flag"
	// RuleUUID: a UUID in the name (Nuxt's _nuxt/builds/meta/<uuid>.json)
	// names a build, not a content: nothing ties those bytes to that name.
	RuleUUID Rule = "uuid"
	// RuleHex: a hex content hash of webpack, CRA, Rspack/Rsbuild, Parcel,
	// Next.js (webpack) or React Router's manifest, after '.' or '-', or a
	// long one as the whole name (webpack's [hash][ext] assets).
	RuleHex Rule = "hex-hash"
	// RuleBase64: Rollup's 8-character base64url hash after '-' or '.'
	// (Vite, Rolldown, React Router, Angular, SvelteKit, Nuxt, Astro).
	RuleBase64 Rule = "base64url-hash"
	// RuleBase32: esbuild's 8-character base32 hash after '-'.
	RuleBase32 Rule = "base32-hash"
	// RuleFolder: a hash-shaped name (bare, or weaker evidence than the
	// rules above need) inside a folder its framework fills only with
	// content-hashed files.
	RuleFolder Rule = "framework-folder"
	// RuleManifest: a build manifest lists it and its name is hash-shaped.
	RuleManifest Rule = "build-manifest"
	// RuleNoHash: nothing in the name is a content hash.
	RuleNoHash Rule = "no-hash"
)

// Describe says in a few words what the rule means.
func (r Rule) Describe() string {
	switch r {
	case RuleHTML:
		return "HTML is revalidated on every use"
	case RuleFlag:
		return "matches an --immutable glob"
	case RuleUUID:
		return "a UUID names a build, not a content"
	case RuleHex:
		return "hex content hash (webpack, Parcel, Rsbuild, Next.js)"
	case RuleBase64:
		return "base64url content hash (Vite, Rollup, Angular)"
	case RuleBase32:
		return "base32 content hash (esbuild)"
	case RuleFolder:
		return "hash-shaped name in a framework's immutable folder"
	case RuleManifest:
		return "listed by a build manifest, hash-shaped name"
	}
	return "no content hash in the name"
}

// Facts is what Classify knows of a build beyond a file's path.
type Facts struct {
	// Listed holds the relative paths a build manifest
	// (.vite/manifest.json, asset-manifest.json) lists as outputs.
	Listed map[string]bool
	// Immutable are the --immutable globs. Optional. Default: none.
	Immutable Globs
}

// immutableFolders are folders whose framework writes only content-hashed
// files into them and serves them for a year itself: SvelteKit's
// _app/immutable/, Next.js's _next/static/, Nuxt's buildAssetsDir _nuxt/
// (Nitro sends a year-long max-age there, except under _nuxt/builds/), and
// Astro's _astro/. A file there still needs a hash-shaped name: the folder
// lets in bare names (_app/immutable/chunks/Pdb96Lyk.js,
// _next/static/chunks/0cz1d0mv5g_q7.js) and mixed-case words, not names
// without a hash. In particular _next/static/<buildId>/_buildManifest.js is
// revalidated: a build id is no content hash (generateBuildId is often a
// git commit or a constant, so two builds can share it), and the file is
// small and read once per page load.
var immutableFolders = []string{"_app/immutable/", "_next/static/", "_nuxt/", "_astro/"}

// perBuildFolders are inside immutableFolders but hold files named per
// build, not per content: Nuxt's _nuxt/builds/latest.json and meta/.
var perBuildFolders = []string{"_nuxt/builds/"}

// Classify decides whether the file at rel (slash-separated, relative to
// the build root) is immutable, and by which rule. Wrongly pinning a file
// that changes for a year is far worse than revalidating one that does not
// (a 304 costs one round trip; old tabs keep their files either way), so a
// name counts only when one of its tokens is hash-shaped:
//
//   - a token is a whole dot-separated part of the name (app.CSQFsjNc.js,
//     908.c2bf3acc.chunk.js, Pdb96Lyk.js), the last 8 characters after a
//     '-' (index-Bjy-W4x2.js: base64url hashes hold '-' and '_'), what
//     follows the last '-' (page-3f10fba7fea53126.js), or what precedes
//     the first '-' (a34f9d1faa5f3315-s.p.woff2), once a precompressed
//     (.br, .gz), source map (.map) or licence (.LICENSE.txt) suffix and
//     the extension are removed;
//   - anywhere: hex of 16 to 64 digits with a letter and a digit; hex of 8
//     to 15 after '.' or '-' with a letter and a digit, or 8 decimal
//     digits after '.' that are no date (webpack: 908.96107024.chunk.js);
//     8 base64url characters after '.' or '-' that look random (below);
//   - inside immutableFolders also bare names and whole parts of 8
//     characters (9 to 32 with a digit: Turbopack, Astro images), any of
//     8 with letters and digits, and letter-only ones unless every piece
//     is one pronounceable word (Settings).
//
// "Looks random" for 8 base64url characters: not all digits, not a size
// (1200x630), and then with digits and letters, not human-shaped (words
// with numbers only at their ends: MyLogo12, banner01, image-v2, white-2x;
// Pdb96Lyk has its digits inside); with letters only, not human-shaped
// (SemiBold, Settings, DOWNLOAD) unless a word of it has four consonants
// in a row, as random letters do (DPfrhiVb, ZIPWLCQN) and words rarely do,
// or it is esbuild's base32 after a name esbuild or Angular writes
// (main-TYAHPSAU.js).
// So Inter-SemiBold.woff2, app-settings.json, og-image-1200x630.png,
// favicon.ico, remoteEntry.js and sw.js stay revalidated, and so does any
// bare 8-character name outside those folders: MyLogo12.png is as likely
// as Pdb96Lyk.js to be a hash by its letters. A file a build manifest
// lists counts when its name is hash-shaped by the folder rules (a Vite
// build with unhashed entryFileNames is not pinned), and --immutable adds
// paths, HTML excepted.
func Classify(rel string, facts Facts) (bool, Rule) {
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i+1], rel[i+1:]
	}
	if IsHTML(name) {
		return false, RuleHTML
	}
	r := nameRule(dir, name, facts.Listed[rel])
	switch {
	case r != RuleNoHash && r != RuleUUID:
		return true, r
	case facts.Immutable.Match(rel):
		return true, RuleFlag
	}
	return false, r
}

// nameRule classifies a file by its folder and name alone (listed: a build
// manifest names it): RuleNoHash or RuleUUID when it is not immutable.
func nameRule(dir, name string, listed bool) Rule {
	stem, ok := stemOf(name)
	switch {
	case !ok:
		return RuleNoHash
	case hasUUID(stem):
		return RuleUUID
	}
	if r := hashRule(stem, false); r != "" {
		return r
	}
	if hashRule(stem, true) != "" {
		switch {
		case inImmutableFolder(dir):
			return RuleFolder
		case listed:
			return RuleManifest
		}
	}
	return RuleNoHash
}

func inImmutableFolder(dir string) bool {
	for _, f := range perBuildFolders {
		if hasSegmentPrefix(dir, f) {
			return false
		}
	}
	for _, f := range immutableFolders {
		if hasSegmentPrefix(dir, f) {
			return true
		}
	}
	return false
}

// hasSegmentPrefix reports whether dir (ending in '/') contains folder
// (ending in '/') at a segment boundary: at its start or after a '/'.
func hasSegmentPrefix(dir, folder string) bool {
	for i := 0; ; {
		j := strings.Index(dir[i:], folder)
		if j < 0 {
			return false
		}
		if i+j == 0 || dir[i+j-1] == '/' {
			return true
		}
		i += j + 1
	}
}

// stemOf removes from a file name what bundlers write after a hash: a
// precompressed suffix, a source map's .map, webpack's .LICENSE.txt, then
// the extension. A name without an extension, or a dotfile, has no stem.
func stemOf(name string) (string, bool) {
	for _, suffix := range []string{".br", ".gz", ".zst", ".map", ".LICENSE.txt"} {
		if rest, ok := strings.CutSuffix(name, suffix); ok && extOf(rest) != "" {
			name = rest
		}
	}
	ext := extOf(name)
	if ext == "" || name[0] == '.' {
		return "", false
	}
	return name[:len(name)-len(ext)-1], true
}

// extOf returns a name's extension without the dot: 1 to 12 letters and
// digits after the last '.', with something before it.
func extOf(name string) string {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || len(name)-dot-1 > 12 || dot == len(name)-1 {
		return ""
	}
	for i := dot + 1; i < len(name); i++ {
		if !isAlnum(name[i]) {
			return ""
		}
	}
	return name[dot+1:]
}

// position is where a token sits in a name.
type position uint8

const (
	posBare position = iota // the whole first part: Pdb96Lyk.js
	posDot                  // a later dot-separated part: app.CSQFsjNc.js
	posDash                 // after a '-': index-BRh8Y3xK.js
	posLead                 // before the first '-': a34f9d1faa5f3315-s.p.woff2
)

// hashRule returns the rule by which some token of stem is a hash, or ""
// when none is; folder applies the looser evidence of immutableFolders.
func hashRule(stem string, folder bool) Rule {
	for i, part := range strings.Split(stem, ".") {
		pos := posBare
		if i > 0 {
			pos = posDot
		}
		if r := tokenRule(part, pos, folder); r != "" {
			return r
		}
		if n := len(part); n >= 10 && part[n-9] == '-' {
			if r := tokenRule(part[n-8:], posDash, folder); r != "" {
				return r
			}
			if esbuildOutput(part[:n-9], part[n-8:]) {
				return RuleBase32
			}
		}
		if d := strings.LastIndexByte(part, '-'); d > 0 {
			if r := tokenRule(part[d+1:], posDash, folder); r != "" {
				return r
			}
		}
		if d := strings.IndexByte(part, '-'); d > 0 {
			if r := tokenRule(part[:d], posLead, folder); r != "" {
				return r
			}
		}
	}
	return ""
}

// esbuildNames are the names esbuild and the Angular CLI give their
// outputs: chunk-[hash] (esbuild's default chunkNames) and Angular's
// entry points.
var esbuildNames = []string{"chunk", "main", "polyfills", "styles", "scripts", "worker"}

// esbuildOutput accepts a base32 hash of capitals only (one esbuild hash
// in five has no digit), pronounceable or not, after a name esbuild or
// Angular writes: main-TYAHPSAU.js, chunk-KJYHYUHE.js.
func esbuildOutput(name, t string) bool {
	return isBase32(t) && classesOf(t).upper && !classesOf(t).digit && slices.Contains(esbuildNames, name)
}

// tokenRule decides whether one token is a content hash at pos.
func tokenRule(t string, pos position, folder bool) Rule {
	c := classesOf(t)
	if c.other || len(t) < 8 || len(t) > 64 {
		return ""
	}
	if r := hexRule(t, c, pos, folder); r != "" {
		return r
	}
	if !folder && pos != posDot && pos != posDash {
		return ""
	}
	switch {
	case len(t) == 8:
	case !folder || len(t) > 32 || !c.digit || !c.letter():
		return ""
	case !c.upper:
		// Turbopack's names: 13 characters of [0-9a-z_-], bare.
		return RuleFolder
	case c.dash:
		return ""
	}
	switch {
	case c.digit && c.letter():
		// Words with numbers (MyLogo12) are names people give files; in
		// a framework's folder only the framework names them.
		if !folder && humanShaped(t) {
			return ""
		}
	case len(t) != 8, !c.upper:
		// Longer bare tokens (Turbopack's) mix in digits; letters without
		// a capital are a word ("eslintrc") more often than a hash.
		return ""
	case folder && pos == posDot:
		// Name.HASH.ext is the framework's own shape there (Astro's
		// ClientRouter…lang.Bcn-gyid.js).
	case isWords(t, folder):
		return ""
	}
	switch {
	case folder:
		return RuleFolder
	case isBase32(t):
		return RuleBase32
	}
	return RuleBase64
}

func hexRule(t string, c classes, pos position, folder bool) Rule {
	if !c.hex {
		return ""
	}
	switch mixed := c.digit && c.letter(); {
	case len(t) >= 16 && mixed:
		return RuleHex
	case len(t) >= 16:
		return ""
	case mixed && (pos == posDot || pos == posDash):
		return RuleHex
	case mixed && folder:
		return RuleFolder
	case !c.letter() && len(t) == 8 && pos == posDot && !isDate(t):
		return RuleHex
	}
	return ""
}

// classes records which kinds of character a token holds.
type classes struct {
	digit, upper, lower, dash, under, other bool
	hex                                     bool // only 0-9 and a-f
}

func (c classes) letter() bool { return c.upper || c.lower }

func classesOf(t string) classes {
	c := classes{hex: t != ""}
	for i := 0; i < len(t); i++ {
		switch b := t[i]; {
		case isDigit(b):
			c.digit = true
		case b >= 'a' && b <= 'z':
			c.lower = true
			c.hex = c.hex && b <= 'f'
		case b >= 'A' && b <= 'Z':
			c.upper, c.hex = true, false
		case b == '-':
			c.dash, c.hex = true, false
		case b == '_':
			c.under, c.hex = true, false
		default:
			c.other, c.hex = true, false
		}
	}
	return c
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// ValidVersion reports whether name is a build version: the name of a
// sub-folder of the builds dir that holds a build. Names starting with "."
// or "_" are the server's own or the user's scratch space.
func ValidVersion(name string) bool {
	if name == "" || len(name) > 128 || !isAlnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
